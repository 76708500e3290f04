//! Reading the first bytes of a file, for magic-number checks that must not refuse a
//! large binary (the whole-file cap would turn "a 40 MB ELF in a skill" into an error).

use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::Ordering;

use nix::fcntl::OFlag;

use super::{HostFs, Kind, ProbeError, ProbeResult, fstat};

impl HostFs {
    /// At most `n` bytes from the start of a regular file (fewer when it is shorter),
    /// counted against the read budget. Never blocks: FIFOs and devices are refused.
    pub fn read_head(&self, path: &Path, n: usize) -> ProbeResult<Vec<u8>> {
        let fd = self.open_in_root(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK)?;
        let dup = fd
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| ProbeError::from_io(path, &e))?;
        if fstat(path, dup)?.kind != Kind::File {
            return Err(ProbeError::NotRegular {
                path: path.display().to_string(),
                kind: "not a regular file",
            });
        }
        let mut data = Vec::with_capacity(n);
        File::from(fd)
            .take(n as u64)
            .read_to_end(&mut data)
            .map_err(|e| ProbeError::from_io(path, &e))?;
        let before = self
            .bytes_read
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        let budget = self.limits.max_total_bytes;
        if before + data.len() as u64 > budget {
            self.note_cap(path, format!("the {budget}-byte read budget was spent"));
            return Err(ProbeError::BudgetSpent {
                path: path.display().to_string(),
                cap: budget,
            });
        }
        Ok(data)
    }
}
