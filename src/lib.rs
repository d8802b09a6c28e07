//! placeholder docs
pub mod coo;
mod dense;
pub mod dtype;
pub mod dynarray;
pub mod encode;
pub mod error;
pub mod fsio;
pub mod meta;
pub mod narrow;
pub mod npy;
pub mod options;
pub mod read;
pub mod sizes;
pub mod write;

pub use coo::{Coo, Coords, DynCoo};
pub use dtype::{DType, Element};
pub use dynarray::{DynArray, Order, Scalar};
pub use error::{Error, Result};
pub use meta::{ArrayMeta, StoredLayout};
pub use options::{Layout, WriteOptions};
pub use read::{read_array, read_array_from, read_coo, read_dyn, ArrayFile, Narrowed};
pub use sizes::SizeReport;
pub use write::{
    write_array, write_array_to, write_coo, write_coo_to, write_dyn, write_dyn_to, WriteSummary,
};
