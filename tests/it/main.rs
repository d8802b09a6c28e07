//! The one integration-test binary: every module below shares one build.

mod bad_data;
mod cli;
mod common;
mod crash;
mod dataset;
mod house;
mod input_checks;
mod integrity;
mod layout;
mod mutation;
mod npy;
mod npz_store;
mod round_trip;
mod slice;
mod sql;
mod transform;
