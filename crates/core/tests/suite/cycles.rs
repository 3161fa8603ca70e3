//! The cycle finder of the module-circle test: strongly connected components of a
//! dependency map, each shown as shortest round trips.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Every circle in `edges`: for each strongly connected component of two or more modules,
/// shortest round trips (first module repeated at the end) until each module is on one.
pub fn find_cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> = edges
        .iter()
        .flat_map(|(a, bs)| std::iter::once(a).chain(bs))
        .collect();
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for m in edges.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    todo.push(m.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut cycles = Vec::new();
    for n in &nodes {
        if done.contains(*n) || !reachable[n].contains(*n) {
            continue;
        }
        let component: BTreeSet<String> = reachable[n]
            .iter()
            .filter(|m| reachable.get(m).is_some_and(|r| r.contains(*n)))
            .cloned()
            .collect();
        done.extend(component.iter().cloned());
        // One shortest round trip per module not yet on a reported one.
        let mut covered: BTreeSet<String> = BTreeSet::new();
        for m in &component {
            if covered.contains(m) {
                continue;
            }
            if let Some(cycle) = shortest_cycle(m, edges, &component) {
                covered.extend(cycle.iter().cloned());
                cycles.push(cycle);
            }
        }
    }
    cycles
}

/// Breadth-first from `start` back to itself inside `component`.
fn shortest_cycle(
    start: &String,
    edges: &BTreeMap<String, BTreeSet<String>>,
    component: &BTreeSet<String>,
) -> Option<Vec<String>> {
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = VecDeque::from([start.clone()]);
    while let Some(n) = queue.pop_front() {
        for m in edges.get(&n).into_iter().flatten() {
            if !component.contains(m) {
                continue;
            }
            if m == start {
                let mut path = vec![start.clone()];
                let mut at = n.clone();
                while at != *start {
                    path.push(at.clone());
                    at = parent.get(&at)?.clone();
                }
                path.push(start.clone());
                path.reverse();
                return Some(path);
            }
            if !parent.contains_key(m) {
                parent.insert(m.clone(), n.clone());
                queue.push_back(m.clone());
            }
        }
    }
    None
}
