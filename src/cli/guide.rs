//! CLI edge — each command's examples and exit codes: the `Examples:` and `Exit codes:` under its
//! `--help`, and the EXAMPLES and EXIT STATUS sections of its man page, from one table.

use clap::builder::StyledStr;

/// A command's examples and exit codes.
#[derive(Debug)]
pub struct Guide {
    /// The subcommand's name; empty for fredgen itself.
    pub command: &'static str,
    /// What each example does, and its command line.
    pub examples: &'static [(&'static str, &'static str)],
    /// Each exit code and when the command exits with it.
    pub exit_codes: &'static [(&'static str, &'static str)],
}

const ERROR: (&str, &str) = (
    "2",
    "error: a bad spec, a bad argument, or a file fredgen must not touch",
);
const DONE: [(&str, &str); 2] = [
    ("0", "success"),
    (
        "2",
        "error: a bad argument, or a file that cannot be read or written",
    ),
];
const COMPARE: [(&str, &str); 3] = [
    ("0", "the directory matches what would be rendered"),
    ("1", "the directory differs (also with -q)"),
    (
        "2",
        "error: a bad spec or argument, or a file render would refuse to touch",
    ),
];

/// fredgen itself.
pub const TOP: Guide = Guide {
    command: "",
    examples: &[
        ("Start a spec", "fredgen init"),
        ("Render one case", "fredgen render -t eks -e prod"),
        ("In CI", "fredgen check --all"),
    ],
    exit_codes: &[
        ("0", "success; for diff and check: the directory matches"),
        (
            "1",
            "diff or check: the directory differs from what would be rendered",
        ),
        ERROR,
    ],
};

/// `fredgen render`.
pub const RENDER: Guide = Guide {
    command: "render",
    examples: &[
        (
            "Render the prod environment for EKS into deploy/eks/prod",
            "fredgen render -t eks -e prod",
        ),
        (
            "The same, naming every file added, modified or removed",
            "fredgen render -t eks -e prod -v",
        ),
        (
            "Another spec, into another directory",
            "fredgen render -f stacks/shop.yaml -t gke -e staging -o out/gke",
        ),
        (
            "Every target and environment, and the GitHub workflows",
            "fredgen render --all",
        ),
        (
            "The files under k8s/ to stdout as one stream, writing nothing",
            "fredgen render -t eks -e prod --stdout --only k8s/",
        ),
        (
            "The spec from stdin, named in the headers as its file would be",
            "fredgen render -f - --spec-name fredgen.yaml -t eks -e prod",
        ),
    ],
    exit_codes: &[
        ("0", "rendered (or nothing changed)"),
        (
            "2",
            "error, nothing written: a bad spec or argument, or a file not fredgen's",
        ),
    ],
};

/// `fredgen diff`.
pub const DIFF: Guide = Guide {
    command: "diff",
    examples: &[
        (
            "What a render would change in deploy/eks/prod",
            "fredgen diff -t eks -e prod",
        ),
        (
            "Page through it in colour",
            "fredgen diff -t eks -e prod --color always | less -R",
        ),
        ("Every case, for a tool", "fredgen diff --all --format json"),
    ],
    exit_codes: &COMPARE,
};

/// `fredgen check`.
pub const CHECK: Guide = Guide {
    command: "check",
    examples: &[
        (
            "Fail a CI job when deploy/eks/prod is not rendered from the spec",
            "fredgen check -t eks -e prod",
        ),
        ("Every case, saying nothing", "fredgen check --all -q"),
        (
            "As JSON, for a tool",
            "fredgen check -t gke -e prod --format json",
        ),
    ],
    exit_codes: &COMPARE,
};

/// `fredgen validate`.
pub const VALIDATE: Guide = Guide {
    command: "validate",
    examples: &[
        ("Validate ./fredgen.yaml", "fredgen validate"),
        (
            "Another spec, as JSON",
            "fredgen validate -f stacks/shop.yaml --format json",
        ),
    ],
    exit_codes: &[
        ("0", "the spec is valid for every case"),
        (
            "2",
            "error: a bad spec or argument, or a file that cannot be read",
        ),
    ],
};

/// `fredgen targets`.
pub const TARGETS: Guide = Guide {
    command: "targets",
    examples: &[
        ("The targets fredgen knows", "fredgen targets"),
        (
            "With a target of your own (a folder with target.yaml, platform.yaml.j2, templates/)",
            "fredgen targets --target-dir ./my-target",
        ),
    ],
    exit_codes: &DONE,
};

/// `fredgen templates`.
pub const TEMPLATES: Guide = Guide {
    command: "templates",
    examples: &[
        ("Every template id", "fredgen templates list"),
        (
            "Start a replacement of one",
            "fredgen templates show eks/apply.yaml.j2 > mine/eks/apply.yaml.j2",
        ),
    ],
    exit_codes: &DONE,
};

/// `fredgen templates list`.
pub const TEMPLATES_LIST: Guide = Guide {
    command: "templates list",
    examples: &[
        ("Every template id", "fredgen templates list"),
        (
            "With a folder target's templates",
            "fredgen templates list --target-dir ./my-target",
        ),
    ],
    exit_codes: &DONE,
};

/// `fredgen templates show`.
pub const TEMPLATES_SHOW: Guide = Guide {
    command: "templates show",
    examples: &[
        ("Read one", "fredgen templates show eks/apply.yaml.j2"),
        (
            "Start a replacement of it",
            "fredgen templates show eks/apply.yaml.j2 > mine/eks/apply.yaml.j2",
        ),
    ],
    exit_codes: &[
        ("0", "printed"),
        (
            "2",
            "error: no template has the id, or stdout cannot be written",
        ),
    ],
};

/// `fredgen init`.
pub const INIT: Guide = Guide {
    command: "init",
    examples: &[
        (
            "Write fredgen.yaml and fredgen.schema.json here",
            "fredgen init",
        ),
        ("Elsewhere", "fredgen init -f stacks/shop.yaml"),
    ],
    exit_codes: &[
        ("0", "written"),
        ("2", "error: the spec exists, or it cannot be written"),
    ],
};

/// `fredgen schema`.
pub const SCHEMA: Guide = Guide {
    command: "schema",
    examples: &[
        ("Print it", "fredgen schema"),
        (
            "Write it for an editor",
            "fredgen schema -o fredgen.schema.json",
        ),
    ],
    exit_codes: &DONE,
};

/// `fredgen completions`.
pub const COMPLETIONS: Guide = Guide {
    command: "completions",
    examples: &[
        (
            "bash: load them in every new shell",
            "echo 'source <(fredgen completions bash)' >> ~/.bashrc",
        ),
        (
            "zsh: into a folder of your $fpath",
            "fredgen completions zsh > ~/.zfunc/_fredgen",
        ),
        (
            "fish",
            "fredgen completions fish > ~/.config/fish/completions/fredgen.fish",
        ),
    ],
    exit_codes: &DONE,
};

/// `fredgen man`.
pub const MAN: Guide = Guide {
    command: "man",
    examples: &[
        ("Read it", "fredgen man | man -l -"),
        (
            "Install every page",
            "fredgen man -o ~/.local/share/man/man1",
        ),
    ],
    exit_codes: &DONE,
};

/// Every guide, fredgen's own first (`templates list` and `templates show` have no man page of
/// their own: `fredgen-templates.1` covers them).
pub const ALL: [&Guide; 13] = [
    &TOP,
    &RENDER,
    &DIFF,
    &CHECK,
    &VALIDATE,
    &TARGETS,
    &TEMPLATES,
    &TEMPLATES_LIST,
    &TEMPLATES_SHOW,
    &INIT,
    &SCHEMA,
    &COMPLETIONS,
    &MAN,
];

impl Guide {
    /// The guide of a command (`""` for fredgen itself), if it has one.
    pub fn of(command: &str) -> Option<&'static Guide> {
        ALL.into_iter().find(|g| g.command == command)
    }

    /// The text under `--help`: `Examples:` (each a `# what` line over its command line) and
    /// `Exit codes:`, the headings styled as clap styles its own.
    pub fn help(&self) -> StyledStr {
        let h = clap::builder::Styles::default().get_header().to_owned();
        let mut text = format!("{h}Examples:{h:#}\n");
        for (what, line) in self.examples {
            text.push_str(&format!("  # {what}\n  {line}\n"));
        }
        text.push_str(&format!("\n{h}Exit codes:{h:#}\n"));
        for (code, when) in self.exit_codes {
            text.push_str(&format!("  {code}  {when}\n"));
        }
        StyledStr::from(text.trim_end().to_string())
    }

    /// The EXAMPLES and EXIT STATUS sections of the man page.
    pub fn roff(&self) -> String {
        let mut sections = vec![
            ("EXAMPLES", self.examples),
            ("EXIT STATUS", self.exit_codes),
        ];
        if self.command.is_empty() {
            sections.extend(PAGE);
        }
        roff_sections(&sections)
    }
}

/// The sections only `fredgen.1` has, after its examples and exit status, each a list of a term
/// and what it is.
const PAGE: [(&str, &[(&str, &str)]); 3] = [
    (
        "ENVIRONMENT",
        &[
            (
                "NO_COLOR",
                "When set and not empty, --color auto never colours (https://no-color.org).",
            ),
            (
                "CLICOLOR_FORCE",
                "When set and not 0, --color auto colours even when the stream is no terminal; NO_COLOR wins.",
            ),
            (
                "FREDGEN_THREADS",
                "How many threads render: 1 renders on the calling thread alone; default, one per core.",
            ),
        ],
    ),
    (
        "FILES",
        &[
            (
                "fredgen.yaml",
                "The stack spec, in the current directory unless -f names another.",
            ),
            (
                "fredgen.schema.json",
                "The spec's JSON Schema, written next to it by fredgen init, for editors.",
            ),
            (
                "deploy/<target>/<env>/",
                "The output directory of a case, next to the spec unless --out names another.",
            ),
            (
                ".fredgen-manifest",
                "In each output directory: the files fredgen wrote there, each with its BLAKE3 digest; fredgen rewrites or removes only these.",
            ),
        ],
    ),
    (
        "SEE ALSO",
        &[
            (
                "terraform(1), kubectl(1), helm(1)",
                "What applies the output.",
            ),
            (
                "README.md",
                "The spec reference, the output layout and the apply order.",
            ),
        ],
    ),
];

/// roff of sections of terms, each term bold over its text.
fn roff_sections(sections: &[(&str, &[(&str, &str)])]) -> String {
    use roff::{Roff, bold, roman};
    let mut roff = Roff::new();
    for (title, entries) in sections {
        roff.control("SH", [*title]);
        for (term, text) in *entries {
            // Examples are (what, command line): the command line is the term.
            let (term, text) = if *title == "EXAMPLES" {
                (text, term)
            } else {
                (term, text)
            };
            roff.control("TP", [])
                .text([bold(*term)])
                .text([roman(*text)]);
        }
    }
    // With apostrophes as the page's preamble (which the page already has) defines them.
    let page = roff.render();
    page.splitn(3, '\n').nth(2).unwrap_or_default().to_string()
}
