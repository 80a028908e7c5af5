//! Stage 4b — overrides: the user's patches, values overlays and Terraform files, applied to a rendered output.

pub mod patch;
