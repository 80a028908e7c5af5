//! Stage 4 — the apply plan: the one ordered list of steps that stands a rendered output up.
//!
//! Each target declares its steps in `templates/<target>/apply.yaml.j2` (the shared ones come from
//! `templates/shared/apply/*.j2`), rendered with the same context as every other template and read
//! into [`Plan`]. The generated README's "Apply, in this order", the executable `apply.sh` and the
//! apply model of [`super::apply_model`] all read this one plan, so the documented order, the
//! script and the check cannot drift apart.

use serde::{Deserialize, Serialize};

/// The steps of a first apply, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Shell lines every step needs (exports, helper functions), run once before the first step.
    #[serde(default)]
    pub prelude: String,
    /// The steps, in apply order.
    pub steps: Vec<Step>,
}

/// One step of the apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// A short id (`network`, `platform-secrets`); `bash apply.sh <id>` resumes there.
    pub id: String,
    /// One line for the README and the script's progress output.
    pub title: String,
    /// Markdown shown under the step in the README.
    #[serde(default)]
    pub notes: String,
    /// The shell commands, as the README shows them and `apply.sh` runs them.
    pub run: String,
    /// Output paths whose objects this step creates: a Terraform root (`terraform/20-cluster`), a
    /// kustomization directory (`k8s/platform`) or single manifests (`k8s/namespace.yaml`).
    #[serde(default)]
    pub applies: Vec<String>,
    /// What a step creates that is not in the output (an upstream release manifest), as facts the
    /// apply model understands: `crd:<group>/<Kind>`, `webhook:<name>`, `secret:<ns>/<name>`.
    #[serde(default)]
    pub creates: Vec<String>,
    /// What such a step needs to exist before it runs, in the same notation.
    #[serde(default)]
    pub requires: Vec<String>,
    /// The step runs once, from a workstation, never from CI: it keeps local state (a bootstrap
    /// root) or builds images with tools a runner lacks. Such steps come first; CI's apply starts
    /// after them.
    #[serde(default)]
    pub workstation: bool,
    /// Environment variables the step reads, each with why (`CLOUDFLARE_API_TOKEN`: the
    /// Terraform Cloudflare provider's token). `apply.sh` checks every step of the range it runs
    /// before the first one starts, and stops with the reason when one is unset.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
}

impl Step {
    /// Whether the step only applies Terraform roots (and what they need, such as a kubeconfig):
    /// the steps `FREDGEN_PLAN=1 bash apply.sh` plans.
    pub fn is_terraform(&self) -> bool {
        !self.applies.is_empty() && self.applies.iter().all(|a| a.starts_with("terraform/"))
    }
}

impl Plan {
    /// The steps CI runs: every step after the leading workstation ones.
    pub fn ci_steps(&self) -> &[Step] {
        let first = self.steps.iter().take_while(|s| s.workstation).count();
        &self.steps[first..]
    }

    /// Reads the rendered plan template.
    pub fn parse(text: &str) -> Result<Plan, String> {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }

    /// Every step id must be a shell-safe word and unique; every step must run something.
    pub fn problems(&self) -> Vec<String> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for s in &self.steps {
            let word = !s.id.is_empty()
                && s.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !word {
                out.push(format!("step id `{}` is not a lowercase word", s.id));
            }
            if !seen.insert(&s.id) {
                out.push(format!("step id `{}` appears twice", s.id));
            }
            if s.workstation
                && self
                    .steps
                    .iter()
                    .take_while(|t| t.workstation)
                    .all(|t| t.id != s.id)
            {
                out.push(format!(
                    "step `{}` runs from a workstation but follows a step CI runs: workstation steps come first",
                    s.id
                ));
            }
            if s.run.trim().is_empty() {
                out.push(format!("step `{}` runs nothing", s.id));
            }
            for var in s.env.keys() {
                let name = !var.is_empty()
                    && !var.starts_with(|c: char| c.is_ascii_digit())
                    && var
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
                if !name {
                    out.push(format!(
                        "step `{}` reads `{var}`, which is not an environment variable name",
                        s.id
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_reads_and_flags_bad_ids() {
        let plan = Plan::parse(
            "steps:\n  - id: net\n    title: Network\n    run: terraform apply\n    applies: [terraform/10-network]\n  - id: Net 2\n    title: x\n    run: ''\n",
        )
        .expect("parses");
        assert_eq!(plan.steps[0].applies, ["terraform/10-network"]);
        let p = plan.problems();
        assert!(
            p.iter().any(|p| p.contains("not a lowercase word")),
            "{p:?}"
        );
        assert!(p.iter().any(|p| p.contains("runs nothing")), "{p:?}");
        assert!(Plan::parse("steps: []\nextra: 1\n").is_err());
    }

    #[test]
    fn a_step_names_the_environment_variables_it_reads() {
        let plan = Plan::parse(
            "steps:\n  - id: dns\n    title: DNS\n    run: tf_root 30-platform\n    env: { CLOUDFLARE_API_TOKEN: the provider's token, 'bad name': x }\n",
        )
        .expect("parses");
        assert_eq!(
            plan.steps[0].env["CLOUDFLARE_API_TOKEN"],
            "the provider's token"
        );
        let p = plan.problems();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("`bad name`"), "{p:?}");
    }
}
