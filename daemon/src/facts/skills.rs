//! Facts about installed skills: one directory per skill under each skill root.

use std::path::PathBuf;

use super::Facts;
use crate::probe::{Kind, ProbeError};

/// One skill: its directory and the root it was found under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillDir {
    pub root: PathBuf,
    pub dir: PathBuf,
}

impl SkillDir {
    /// The directory's name, which clients use as the skill's default name.
    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

impl Facts {
    /// Sets the configured skills deny list (`[skills] deny`).
    pub fn set_skill_deny(&mut self, deny: Vec<String>) {
        self.skill_deny = deny;
    }

    /// Skill names and `sha256:<hex>` file digests that must not be installed.
    pub fn skill_deny(&self) -> &[String] {
        &self.skill_deny
    }

    /// Every skill directory (a directory directly under a skill root; a symlinked one
    /// counts too, since clients follow it), plus roots that could not be listed.
    pub fn skill_dirs(&self) -> (Vec<SkillDir>, Vec<ProbeError>) {
        let mut dirs = Vec::new();
        let mut errors = Vec::new();
        for root in self.skill_roots() {
            match self.fs.list_dir(&root) {
                Ok(listing) => {
                    for e in listing {
                        let dir = root.join(&e.name);
                        let is_dir = match e.kind {
                            Kind::Dir => true,
                            Kind::Symlink => {
                                self.fs.metadata(&dir).is_ok_and(|m| m.kind == Kind::Dir)
                            }
                            _ => false,
                        };
                        if is_dir && !e.name_lossy().starts_with('.') {
                            dirs.push(SkillDir {
                                root: root.clone(),
                                dir,
                            });
                        }
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        (dirs, errors)
    }
}

/// One file under a skill root, read once per assessment.
#[derive(Debug, Clone)]
pub struct SkillFile {
    pub root: PathBuf,
    pub path: PathBuf,
    pub kind: Kind,
    /// The file's bytes (symlinks read through, inside the host root), or why not.
    pub data: Result<std::sync::Arc<Vec<u8>>, ProbeError>,
}

/// Every skill root walked once: its files with their content, and what could not be read.
#[derive(Debug, Default)]
pub struct SkillTree {
    pub files: Vec<SkillFile>,
    pub errors: Vec<ProbeError>,
}

impl Facts {
    /// Every file under every skill root, walked and read once and shared by the skills
    /// checks, which would otherwise each re-read the same trees.
    pub fn skill_tree(&self) -> &SkillTree {
        self.skill_tree.get_or_init(|| {
            let mut tree = SkillTree::default();
            for root in self.skill_roots() {
                let walk = self.fs.walk(&root);
                tree.errors.extend(walk.errors);
                for (path, meta) in walk.files {
                    let kind = meta.kind;
                    let data = if matches!(kind, Kind::File | Kind::Symlink) {
                        self.fs.read(&path).map(std::sync::Arc::new)
                    } else {
                        Err(ProbeError::NotRegular {
                            path: path.display().to_string(),
                            kind: "a device, socket or FIFO",
                        })
                    };
                    tree.files.push(SkillFile {
                        root: root.clone(),
                        path,
                        kind,
                        data,
                    });
                }
            }
            tree
        })
    }
}
