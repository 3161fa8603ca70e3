#!/usr/bin/env bash
# A real single-node Kubernetes cluster on 127.0.0.1 for the Kubernetes runtime's tests
# (docs/kubernetes.md, /work/shared/facts/KUBERNETES.md says why it is built this way).
#
#   scripts/k8s-cluster.sh build   build Kubernetes 1.20.2 from Debian's source package
#                                  (idempotent: cached under $DEPS/k8s-1.20.2/) and the
#                                  pause image (in the Docker engine)
#   scripts/k8s-cluster.sh binaries  the same without the pause image: needs no Docker
#                                  engine (scripts/test.sh runs it alongside the build)
#   scripts/k8s-cluster.sh up      build if needed, start etcd, kube-apiserver,
#                                  controller-manager, scheduler and kubelet (dockershim on
#                                  the local Docker engine) on free loopback ports, wait for
#                                  the node Ready; prints the kubeconfig path
#   scripts/k8s-cluster.sh down    stop the cluster started by `up` and remove its pods'
#                                  containers and state
#   scripts/k8s-cluster.sh env     print `export KUBECONFIG=...` for the running cluster
#
# No registry ships a Kubernetes server binary and no image can be pulled here, so
# everything is made locally: the four Kubernetes binaries from Debian's `kubernetes` source
# package (its orig tarball carries vendor/, so it builds offline), etcd from Debian's
# etcd-server package, the pause image from the source's pause.c. Two constants are patched:
# this VM refuses a negative oom_score_adj, which otherwise makes runc fail every sandbox.
#
# Environment:
#   TEST_DEPS_DIR   cache root (default <repo>/.cache/test-deps)
#   K8S_STATE_DIR   where `up` keeps the running cluster's state (default $DEPS/k8s-run)
set -euo pipefail

# shellcheck source=scripts/test-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/test-lib.sh"

say() { echo "k8s-cluster: $*" >&2; }

K8S_VERSION=1.20.2
DEB_VERSION=1.20.5+really1.20.2
K8S_DIR=$DEPS/k8s-$K8S_VERSION
K8S_BIN=$K8S_DIR/bin
PAUSE_IMAGE=localhost/pause:local
STATE=${K8S_STATE_DIR:-$DEPS/k8s-run}
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet etcd)

# Bumped when the build changes, so binaries built the old way are rebuilt.
BUILD_STAMP="oom-adj patches; reflect2 mapiterinit for Go >= 1.18"

have_binaries() {
  local b
  for b in "${BINARIES[@]}"; do [ -x "$K8S_BIN/$b" ] || return 1; done
  [ "$(cat "$K8S_BIN/.build" 2>/dev/null)" = "$BUILD_STAMP" ]
}

# Kubernetes 1.20 vendors reflect2 1.0.1, which declares reflect.mapiterinit as Go had it
# before 1.18 (returning the iterator); Go >= 1.18 takes a pointer to the caller's iterator
# instead, so the old call hands the runtime a garbage pointer and the API server dies with
# `fatal error: fault` while encoding maps. Declare and call it the new way.
patch_reflect2() {
  local dir=$1/vendor/github.com/modern-go/reflect2
  python3 - "$dir" <<'PY'
import pathlib, re, sys
d = pathlib.Path(sys.argv[1])
hits = 0
for f in d.glob("*.go"):
    s = f.read_text()
    t, n1 = re.subn(r"func mapiterinit\(rtype unsafe\.Pointer, m unsafe\.Pointer\) \(?(val )?\*hiter\)?",
               "func mapiterinit(rtype unsafe.Pointer, m unsafe.Pointer, it *hiter)", s)
    t, n2 = re.subn(r"return &UnsafeMapIterator\{\n(\s*)hiter:(\s*)mapiterinit\(type2\.rtype, \*\(\*unsafe\.Pointer\)\(obj\)\),",
               "var it hiter\n\tmapiterinit(type2.rtype, *(*unsafe.Pointer)(obj), &it)\n\treturn &UnsafeMapIterator{\n\\1hiter:\\2&it,", t)
    # The caller now allocates the iterator: it must be the runtime's whole hiter
    # (Go 1.18 to 1.21 layout), not reflect2's two leading fields.
    t, n3 = re.subn(r"type hiter struct \{\n(?:.*\n)*?\}",
                    "type hiter struct {\n\tkey         unsafe.Pointer\n\tvalue       unsafe.Pointer\n"
                    "\tt           unsafe.Pointer\n\th           unsafe.Pointer\n\tbuckets     unsafe.Pointer\n"
                    "\tbptr        unsafe.Pointer\n\toverflow    unsafe.Pointer\n\toldoverflow unsafe.Pointer\n"
                    "\tstartBucket uintptr\n\toffset      uint8\n\twrapped     bool\n\tB           uint8\n"
                    "\ti           uint8\n\tbucket      uintptr\n\tcheckBucket uintptr\n}", t)
    hits += n1 + n2 + n3
    if t != s:
        f.write_text(t)
sys.exit(0 if hits == 3 else "reflect2: the mapiterinit patch did not apply (%d of 3 places)" % hits)
PY
}

# The Debian mirror URI apt already uses for the main archive (deb822 or one-line format),
# so the private deb-src list points at the same place without naming any host here.
debian_mirror() {
  local uri
  uri=$(awk '
    /^URIs:/ { u = $2 }
    /^Suites:/ { if (u != "" && $0 !~ /security/) { print u; exit } }
    /^$/ { u = "" }' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  if [ -z "$uri" ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1)
  fi
  [ -n "$uri" ] || { say "no Debian mirror found in apt's sources"; return 1; }
  echo "$uri"
}

build_pause_image() {
  if docker image inspect "$PAUSE_IMAGE" >/dev/null 2>&1; then
    say "pause image $PAUSE_IMAGE: present"
    return 0
  fi
  local src=$K8S_DIR/src/build/pause/linux/pause.c ctx=$K8S_DIR/pause
  [ -f "$src" ] || src=$K8S_DIR/pause.c
  [ -f "$src" ] || { say "pause.c missing (rebuild: rm -rf $K8S_DIR)"; return 1; }
  mkdir -p "$ctx"
  gcc -Os -static -DVERSION=3.2 -o "$ctx/pause" "$src"
  printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' >"$ctx/Dockerfile"
  docker build -q -t "$PAUSE_IMAGE" "$ctx" >"$K8S_DIR/pause-build.log" 2>&1 || { cat "$K8S_DIR/pause-build.log"; return 1; }
  say "built pause image $PAUSE_IMAGE"
}

cmd_build() {
  cmd_binaries
  build_pause_image
}

# The binaries, once: a second caller (`up` while scripts/test.sh's background build runs)
# waits on the lock for the first one's result instead of building again.
cmd_binaries() {
  mkdir -p "$K8S_DIR"
  exec 8>"$K8S_DIR/build.lock"
  flock 8
  if have_binaries && [ -f "$K8S_DIR/pause.c" ]; then
    say "kubernetes $K8S_VERSION + etcd: present in $K8S_BIN"
    exec 8>&-
    return 0
  fi
  build_binaries
  exec 8>&-
}

build_binaries() {
  local t=$SECONDS
  mkdir -p "$K8S_DIR"
  local missing=()
  command -v go >/dev/null 2>&1 || missing+=(golang-go)
  command -v rsync >/dev/null 2>&1 || missing+=(rsync)
  command -v gcc >/dev/null 2>&1 || missing+=(gcc)
  command -v make >/dev/null 2>&1 || missing+=(make)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt_install "$K8S_DIR/apt.log" "${missing[@]}"
  fi

  # Source package through a private apt list: the system's apt configuration is untouched.
  local apt_dir=$K8S_DIR/apt src=$K8S_DIR/src
  if [ ! -f "$src/.unpacked" ]; then
    mkdir -p "$apt_dir/sources.d" "$apt_dir/lists/partial" "$K8S_DIR/dl"
    local mirror suite
    mirror=$(debian_mirror)
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    echo "deb-src $mirror $suite main" >"$apt_dir/sources.d/k8s-src.list"
    local apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir/sources.d"
      -o "Dir::State::Lists=$apt_dir/lists" -o Debug::NoLocking=1)
    say "fetching Debian's kubernetes $DEB_VERSION source package"
    apt-get "${apt_opts[@]}" update >"$K8S_DIR/apt-src.log" 2>&1 ||
      { tail -n 20 "$K8S_DIR/apt-src.log"; return 1; }
    (cd "$K8S_DIR/dl" && apt-get "${apt_opts[@]}" source --download-only kubernetes) \
      >>"$K8S_DIR/apt-src.log" 2>&1 || { tail -n 20 "$K8S_DIR/apt-src.log"; return 1; }
    rm -rf "$src"
    mkdir -p "$src"
    local orig=$K8S_DIR/dl/kubernetes_$DEB_VERSION.orig.tar.gz
    [ -f "$orig" ] || { say "Debian's kubernetes source is not $DEB_VERSION: $(ls "$K8S_DIR/dl")"; return 1; }
    tar -xzf "$orig" -C "$src" --strip-components=1
    sed -i 's/defaultSandboxOOMAdj int = -998/defaultSandboxOOMAdj int = 0/' \
      "$src/pkg/kubelet/dockershim/docker_sandbox.go"
    sed -i 's/guaranteedOOMScoreAdj int = -997/guaranteedOOMScoreAdj int = 0/' \
      "$src/pkg/kubelet/qos/policy.go"
    grep -q 'defaultSandboxOOMAdj int = 0' "$src/pkg/kubelet/dockershim/docker_sandbox.go" &&
      grep -q 'guaranteedOOMScoreAdj int = 0' "$src/pkg/kubelet/qos/policy.go" ||
      { say "the oom_score_adj patches did not apply"; return 1; }
    patch_reflect2 "$src" || return 1
    touch "$src/.unpacked"
  fi

  say "building kube-apiserver, kube-controller-manager, kube-scheduler, kubelet (about 6 min cold on 2 cores; log: $K8S_DIR/build.log)"
  mkdir -p "$src/.go/src/k8s.io"
  ln -sfn ../../.. "$src/.go/src/k8s.io/kubernetes"
  (cd "$src" &&
    GOPATH=$src/.go CGO_ENABLED=0 GOPROXY=off \
      nice -n 10 make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubelet") \
    >"$K8S_DIR/build.log" 2>&1 || { tail -n 30 "$K8S_DIR/build.log"; return 1; }
  mkdir -p "$K8S_BIN"
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet; do
    cp "$src/_output/bin/$b" "$K8S_BIN/$b"
  done

  if [ ! -x "$K8S_BIN/etcd" ]; then
    say "unpacking etcd from Debian's etcd-server package"
    rm -rf "$K8S_DIR/etcd-deb"
    mkdir -p "$K8S_DIR/etcd-deb"
    (cd "$K8S_DIR/etcd-deb" && apt-get download etcd-server >/dev/null 2>&1 &&
      dpkg-deb -x etcd-server_*.deb root) || { say "apt-get download etcd-server failed"; return 1; }
    cp "$K8S_DIR/etcd-deb/root/usr/bin/etcd" "$K8S_BIN/etcd"
  fi
  cp "$src/build/pause/linux/pause.c" "$K8S_DIR/pause.c"
  echo "$BUILD_STAMP" >"$K8S_BIN/.build"
  # The source tree and Go cache are 1+ GB; the binaries are all that is kept.
  rm -rf "$src" "$K8S_DIR/dl" "$K8S_DIR/etcd-deb"
  say "built kubernetes $K8S_VERSION into $K8S_BIN in $(fmt_duration $((SECONDS - t)))"
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# api PATH [CURL-ARGS...]: the API server's answer, as the cluster's admin.
api() {
  local path=$1
  shift
  curl -sk --max-time 10 -H "Authorization: Bearer $(cat "$STATE/admin.token")" \
    "https://127.0.0.1:$(cat "$STATE/api.port")$path" "$@"
}

cluster_running() {
  [ -f "$STATE/api.port" ] && [ -f "$STATE/pids" ] || return 1
  local pid
  while read -r pid; do kill -0 "$pid" 2>/dev/null || return 1; done <"$STATE/pids"
  api /readyz | grep -qx ok
}

node_ready() {
  api /api/v1/nodes/localhost | python3 -c '
import json, sys
node = json.load(sys.stdin)
ready = [c for c in node.get("status", {}).get("conditions", []) if c["type"] == "Ready"]
sys.exit(0 if ready and ready[0]["status"] == "True" else 1)' 2>/dev/null
}

# start NAME BINARY ARGS...: runs a component in the background, its log in $STATE/NAME.log.
# Without `up`'s lock (fd 9) or the build's (fd 8): a component holding one would block
# every later `up` or `build`.
start() {
  local name=$1
  shift
  setsid nohup "$@" >"$STATE/$name.log" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >>"$STATE/pids"
}

write_kubeconfig() {
  local file=$1 port=$2 token=$3
  cat >"$file" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: codex-mcp-test
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority: $STATE/pki/ca.crt
contexts:
- name: codex-mcp-test
  context:
    cluster: codex-mcp-test
    user: admin
    namespace: default
current-context: codex-mcp-test
users:
- name: admin
  user:
    token: $token
KUBECONFIG
}

cmd_up() {
  # One `up` at a time: every test process of a run may call it.
  mkdir -p "$DEPS"
  exec 9>"$DEPS/k8s-cluster.lock"
  flock 9
  if cluster_running; then
    say "cluster already running (KUBECONFIG=$STATE/kubeconfig)"
    echo "$STATE/kubeconfig"
    return 0
  fi
  cmd_down >/dev/null 2>&1 || true
  # Two kubelets on one Docker engine each remove the other's pod containers as unknown
  # (every sandbox then restarts in a loop): refuse, naming the other one.
  local other
  other=$(ps -eo pid=,args= | awk '$2 ~ /(^|\/)kubelet$/ {print $1, $2; exit}')
  if [ -n "$other" ]; then
    say "another kubelet already runs on this machine (pid and binary: $other); two clusters on one Docker engine kill each other's pods: stop it first (scripts/k8s-cluster.sh down with its TEST_DEPS_DIR)"
    return 1
  fi
  cmd_build
  local t=$SECONDS
  mkdir -p "$STATE/pki" "$STATE/etcd" "$STATE/kubelet" "$STATE/kubelet-pki"
  : >"$STATE/pids"
  local etcd_port etcd_peer api_port kubelet_port cm_port sched_port token
  etcd_port=$(free_port) etcd_peer=$(free_port) api_port=$(free_port)
  kubelet_port=$(free_port) cm_port=$(free_port) sched_port=$(free_port)
  echo "$api_port" >"$STATE/api.port"
  token=$(openssl rand -hex 24)
  echo "$token" >"$STATE/admin.token"
  echo "$token,admin,admin,system:masters" >"$STATE/tokens.csv"
  openssl genrsa -out "$STATE/pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$STATE/pki/sa.key" -pubout -out "$STATE/pki/sa.pub" 2>/dev/null
  # A CA of the cluster's own and the API server's serving certificate signed by it, valid
  # for 127.0.0.1 and localhost. (rustls, as in kube-rs, refuses a self-signed CA
  # certificate as a server's certificate: CaUsedAsEndEntity.)
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=codex-mcp-test-ca \
    -keyout "$STATE/pki/ca.key" -out "$STATE/pki/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
    -keyout "$STATE/pki/apiserver.key" -out "$STATE/pki/apiserver.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
    >"$STATE/pki/apiserver.ext"
  openssl x509 -req -days 30 -in "$STATE/pki/apiserver.csr" -CA "$STATE/pki/ca.crt" \
    -CAkey "$STATE/pki/ca.key" -CAcreateserial -extfile "$STATE/pki/apiserver.ext" \
    -out "$STATE/pki/apiserver.crt" 2>/dev/null
  write_kubeconfig "$STATE/kubeconfig" "$api_port" "$token"

  start etcd "$K8S_BIN/etcd" --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "default=http://127.0.0.1:$etcd_peer" --name default
  start kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --tls-cert-file "$STATE/pki/apiserver.crt" --tls-private-key-file "$STATE/pki/apiserver.key" \
    --token-auth-file "$STATE/tokens.csv" --authorization-mode Node,RBAC --anonymous-auth=false \
    --service-account-key-file "$STATE/pki/sa.pub" --service-account-signing-key-file "$STATE/pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc \
    --service-cluster-ip-range 10.254.0.0/24 --kubelet-preferred-address-types Hostname \
    --allow-privileged=false --cert-dir "$STATE/pki"
  local i=0
  until api /readyz 2>/dev/null | grep -qx ok; do
    i=$((i + 1))
    [ $i -le 120 ] || { tail -n 30 "$STATE/kube-apiserver.log"; say "the API server did not become ready"; return 1; }
    sleep 0.5
  done
  start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$STATE/kubeconfig" --leader-elect=false --port 0 --secure-port "$cm_port" \
    --bind-address 127.0.0.1 --service-account-private-key-file "$STATE/pki/sa.key" \
    --root-ca-file "$STATE/pki/ca.crt" \
    --use-service-account-credentials=false --enable-hostpath-provisioner \
    --controllers '*,-nodeipam'
  start kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig "$STATE/kubeconfig" --leader-elect=false --port 0 --secure-port "$sched_port" \
    --bind-address 127.0.0.1
  # Test-only kubelet settings: anonymous auth and AlwaysAllow on its loopback port.
  cat >"$STATE/kubelet.yaml" <<KUBELET
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $kubelet_port
readOnlyPort: 0
healthzPort: 0
cgroupDriver: cgroupfs
failSwapOn: false
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
staticPodPath: ""
# The Docker engine is shared with the other tests: never garbage-collect its images
# (at 85% disk the kubelet deleted the agent image the Docker tests need), and never
# reach "disk pressure", whose reclaim also deletes every image no pod uses (it did at
# 99% disk): the thresholds are absolute and tiny, so only a truly full disk trips them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1Mi"
  imagefs.available: "1Mi"
  nodefs.inodesFree: "1"
KUBELET
  start kubelet "$K8S_BIN/kubelet" --config "$STATE/kubelet.yaml" \
    --kubeconfig "$STATE/kubeconfig" --container-runtime docker \
    --pod-infra-container-image "$PAUSE_IMAGE" --hostname-override localhost \
    --root-dir "$STATE/kubelet" --cert-dir "$STATE/kubelet-pki"
  i=0
  until node_ready; do
    i=$((i + 1))
    [ $i -le 240 ] || { tail -n 30 "$STATE/kubelet.log"; say "the node did not become Ready"; return 1; }
    sleep 0.5
  done
  # Dynamic PVCs: the hostPath provisioner (--enable-hostpath-provisioner, test-only).
  api /apis/storage.k8s.io/v1/storageclasses -X POST -H 'Content-Type: application/json' -d '{
    "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
    "metadata": {"name": "codex-mcp-hostpath"},
    "provisioner": "kubernetes.io/host-path", "reclaimPolicy": "Delete",
    "volumeBindingMode": "Immediate"}' >/dev/null
  i=0
  until api /api/v1/namespaces/default/serviceaccounts/default | grep -q '"name": "default"'; do
    i=$((i + 1))
    [ $i -le 120 ] || { say "the default service account did not appear"; return 1; }
    sleep 0.5
  done
  say "cluster up in $(fmt_duration $((SECONDS - t))): KUBECONFIG=$STATE/kubeconfig"
  echo "$STATE/kubeconfig"
}

cmd_down() {
  # Only a state dir that had a cluster cleans the engine and the hostPath volumes below: a
  # `down` with another TEST_DEPS_DIR must not take another cluster's pods or data.
  local had_cluster=0 ids
  [ -f "$STATE/pids" ] && had_cluster=1
  if [ $had_cluster = 1 ]; then
    local pid
    # Reverse order: kubelet first, etcd last.
    for pid in $(tac "$STATE/pids"); do kill "$pid" 2>/dev/null || true; done
    for pid in $(tac "$STATE/pids"); do
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    done
  fi
  # The pods' containers (dockershim names them k8s_*).
  if [ $had_cluster = 1 ]; then
    ids=$(docker ps -aq --filter name=^k8s_ 2>/dev/null || true)
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
  fi
  if [ -d "$STATE" ]; then
    awk -v s="$STATE" 'index($2, s) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
      umount -l "$m" 2>/dev/null || true
    done
    rm -rf "$STATE"
  fi
  # What the hostPath provisioner made.
  [ $had_cluster = 0 ] || rm -rf /tmp/hostpath_pv /tmp/hostpath-provisioner
  say "cluster down"
}

cmd_env() {
  cluster_running || { say "no cluster running: scripts/k8s-cluster.sh up"; return 1; }
  echo "export KUBECONFIG=$STATE/kubeconfig"
}

case ${1:-} in
  build) cmd_build ;;
  binaries) cmd_binaries ;;
  up) cmd_up ;;
  down) cmd_down ;;
  env) cmd_env ;;
  *)
    echo "usage: $0 build|binaries|up|down|env" >&2
    exit 2 ;;
esac
