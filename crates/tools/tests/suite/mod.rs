//! One module per tested area; shared helpers sit beside them.

mod arguments;
mod catalogue;
mod finish;
mod prepare;
mod prompts;
