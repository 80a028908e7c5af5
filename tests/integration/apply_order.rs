//! Tests — the apply model: every case comes up in its plan's order, and breaking one reference of
//! each kind (a Secret, a CRD, a store condition, a prerequisite, a data source) is reported.

use fredgen::render::Output;
use fredgen::render::apply_model::check;

use crate::support::{Case, cases, render};

#[test]
fn every_case_comes_up_in_its_plan_order() {
    let mut failures = Vec::new();
    for case in cases() {
        let out = render(&case);
        assert!(
            out.plan.steps.len() >= 4,
            "{}: a plan of {} steps",
            case.name(),
            out.plan.steps.len()
        );
        let problems = check(&out);
        if !problems.is_empty() {
            failures.push(format!("{}:\n  {}", case.name(), problems.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
