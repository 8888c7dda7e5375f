use std::collections::{HashMap, HashSet};

/// "A broader scope implies narrower ones" (MCP 2026-07-28): `files:admin` ⇒ `files:write`.
///
/// Stored as its transitive closure, so a check is one map lookup per granted scope.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScopeHierarchy {
    implied_by: HashMap<Box<str>, HashSet<Box<str>>>,
}

impl ScopeHierarchy {
    /// Records that `broader` implies every scope in `narrower`, then recomputes the closure.
    pub(crate) fn add(&mut self, broader: &str, narrower: impl IntoIterator<Item = Box<str>>) {
        self.implied_by
            .entry(broader.into())
            .or_default()
            .extend(narrower);
        self.close();
    }

    fn close(&mut self) {
        loop {
            let mut grew = false;
            let snapshot = self.implied_by.clone();
            for implied in self.implied_by.values_mut() {
                let transitive: Vec<Box<str>> = implied
                    .iter()
                    .filter_map(|scope| snapshot.get(scope))
                    .flatten()
                    .filter(|scope| !implied.contains(*scope))
                    .cloned()
                    .collect();
                grew |= !transitive.is_empty();
                implied.extend(transitive);
            }
            if !grew {
                return;
            }
        }
    }

    /// Whether the `granted` scopes satisfy `required`, directly or through the hierarchy.
    /// Comparison is exact and case-sensitive.
    pub(crate) fn satisfies(&self, granted: &[String], required: &str) -> bool {
        granted.iter().any(|scope| scope == required)
            || (!self.implied_by.is_empty()
                && granted.iter().any(|scope| {
                    self.implied_by
                        .get(scope.as_str())
                        .is_some_and(|implied| implied.contains(required))
                }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted(scopes: &[&str]) -> Vec<String> {
        scopes.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn direct_transitive_and_case_sensitive() {
        let mut h = ScopeHierarchy::default();
        h.add("files:admin", ["files:write".into()]);
        h.add("files:write", ["files:read".into()]);
        assert!(h.satisfies(&granted(&["files:admin"]), "files:write"));
        assert!(h.satisfies(&granted(&["files:admin"]), "files:read"));
        assert!(h.satisfies(&granted(&["files:write"]), "files:read"));
        assert!(!h.satisfies(&granted(&["files:read"]), "files:write"));
        assert!(!h.satisfies(&granted(&["FILES:ADMIN"]), "files:write"));
        assert!(!h.satisfies(&granted(&[]), "files:read"));
    }

    #[test]
    fn cycles_terminate() {
        let mut h = ScopeHierarchy::default();
        h.add("a", ["b".into()]);
        h.add("b", ["a".into()]);
        assert!(h.satisfies(&granted(&["a"]), "b"));
        assert!(h.satisfies(&granted(&["b"]), "a"));
    }
}
