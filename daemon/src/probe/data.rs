//! Reads of ClawSec's own data files that live on the host (the offline advisory
//! database). These are larger than agent configs, so they are capped by the assessment's
//! whole read budget rather than the per-file cap, and still go through the rooted reader.

use std::path::Path;

use super::{HostFs, ProbeError, ProbeResult};

/// Reads a whole data file of up to `limits.max_total_bytes`.
pub fn read_large(fs: &HostFs, path: &Path) -> ProbeResult<Vec<u8>> {
    let cap = fs.limits.max_total_bytes;
    let (data, truncated, size) = fs.read_up_to(path, cap)?;
    if truncated {
        fs.note_cap(path, format!("larger than the {cap}-byte read budget"));
        return Err(ProbeError::TooLarge {
            path: path.display().to_string(),
            size: (size > cap).then_some(size),
            cap,
        });
    }
    Ok(data)
}
