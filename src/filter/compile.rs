//! Loading `filters/*.sieve`: the extension allow-list, refused commands, compiling with
//! sieve-rs, and the marked copy that tells `run` which line each action came from.
//!
//! How lines are found. sieve-rs keeps no source position in its instructions or events, so
//! each script is compiled twice: unchanged (its errors, with sieve-rs's line numbers, are
//! what the admin sees) and as a marked copy that `run` executes. The marked copy has
//! `require "duplicate";` put before the first byte of line 1, and before every action command
//! (`keep discard fileinto reject ereject addheader deleteheader setflag addflag removeflag
//! stop`, found by `lex` in command position) the test `if duplicate :uniqueid
//! "postdesk-marker-N" {}` on the same line, so no line number moves. When the interpreter
//! reaches a marker it asks the host (`Event::DuplicateId`); the host answers "not a
//! duplicate", notes marker N (its command and line) and so knows the line of the action that
//! executes next. Sieve without `vnd.*` extensions has no loops, so execution only moves
//! forward and everything between two markers belongs to the first one. Admins cannot use the
//! `duplicate` test themselves (it is refused at load), so every such event is a marker.
//! Limit: if the marked copy ever failed to compile where the original compiled (which would
//! mean `lex` misread the script), the original runs and lines are `None`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sieve::compiler::grammar::Capability;
use sieve::{Compiler, Runtime, Sieve};

use super::lex::{self, Kind};
use super::{FilterError, Limits};

/// Extensions a script may `require`.
pub const ALLOWED: &[&str] = &[
    "fileinto",
    "envelope",
    "variables",
    "regex",
    "relational",
    "body",
    "editheader",
    "spamtest",
    "spamtestplus",
    "virustest",
    "reject",
    "ereject",
    "imap4flags",
    "copy",
    "subaddress",
    "encoded-character",
    "date",
    "index",
    "comparator-i;ascii-numeric",
    "comparator-i;ascii-casemap",
    "comparator-i;octet",
];

/// Action commands that get a marker.
pub const MARKED: &[&str] = &[
    "keep",
    "discard",
    "fileinto",
    "reject",
    "ereject",
    "addheader",
    "deleteheader",
    "setflag",
    "addflag",
    "removeflag",
    "stop",
];

/// The prefix of a marker's unique id; the number after it indexes `Script::markers`.
pub const MARKER_ID: &str = "postdesk-marker-";

/// One compiled script.
pub struct Script {
    /// `dir` joined with the file name, as the admin will look for it.
    pub file: PathBuf,
    pub compiled: Arc<Sieve>,
    /// Marker N: the action command it stands before and its line.
    pub markers: Vec<Marker>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub command: String,
    pub line: usize,
}

/// The runtime every script runs in: only `ALLOWED` (and `duplicate`, for the markers), no
/// redirects, no outgoing messages, no includes, and the instruction limit.
pub fn runtime(limits: &Limits) -> Runtime {
    let keep: Vec<Capability> = ALLOWED
        .iter()
        .map(|name| Capability::parse(name))
        .chain([Capability::Duplicate])
        .collect();
    let refused: Vec<Capability> = Capability::all()
        .iter()
        .filter(|c| !keep.contains(c))
        .cloned()
        .collect();
    Runtime::new()
        .without_capabilities(refused)
        .with_cpu_limit(limits.instructions)
        .with_max_redirects(0)
        .with_max_out_messages(0)
        .with_max_nested_includes(0)
        .with_max_variable_size(4096)
        .with_max_header_size(1024)
        .with_max_received_headers(10)
}

fn compiler(limits: &Limits) -> Compiler {
    Compiler::new()
        // The marked copy is longer than the file; the file itself is checked in `load_one`.
        .with_max_script_size(limits.script_bytes.saturating_mul(8))
        .with_max_string_size(4096)
        .with_max_nested_blocks(15)
        .with_max_nested_tests(15)
        .with_max_includes(0)
}

/// Every `*.sieve` in `dir`, by file name; all errors of all files, or all scripts.
pub fn load_dir(dir: &Path, limits: &Limits) -> Result<Vec<Script>, Vec<FilterError>> {
    let err = |message: String| {
        vec![FilterError {
            file: dir.to_path_buf(),
            line: None,
            message,
        }]
    };
    let entries = std::fs::read_dir(dir).map_err(|e| err(format!("cannot read: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| err(format!("cannot read: {e}")))?.path();
        if path.extension().is_some_and(|x| x == "sieve") && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));

    let compiler = compiler(limits);
    let (mut scripts, mut errors) = (Vec::new(), Vec::new());
    for file in files {
        match load_one(&compiler, &file, limits) {
            Ok(script) => scripts.push(script),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(scripts)
    } else {
        Err(errors)
    }
}

fn load_one(compiler: &Compiler, file: &Path, limits: &Limits) -> Result<Script, Vec<FilterError>> {
    let at = |line: Option<usize>, message: String| FilterError {
        file: file.to_path_buf(),
        line,
        message,
    };
    let bytes = std::fs::read(file).map_err(|e| vec![at(None, format!("cannot read: {e}"))])?;
    if bytes.len() > limits.script_bytes {
        let msg = format!("script is larger than {} bytes", limits.script_bytes);
        return Err(vec![at(None, msg)]);
    }
    let src = String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        vec![at(Some(line), "not UTF-8 text".into())]
    })?;
    compile_source(compiler, file, &src)
}

/// Checks and compiles one script's text (`file` is only used in errors and the result).
pub fn compile_source(
    compiler: &Compiler,
    file: &Path,
    src: &str,
) -> Result<Script, Vec<FilterError>> {
    let at = |line: usize, message: String| FilterError {
        file: file.to_path_buf(),
        line: (line > 0).then_some(line),
        message,
    };
    let toks = lex::tokens(src);
    let mut errors = Vec::new();
    for (ext, line) in lex::requires(&toks) {
        if !ALLOWED.iter().any(|a| a.eq_ignore_ascii_case(&ext)) {
            errors.push(at(
                line,
                format!("extension {ext:?} is not available in postdesk"),
            ));
        }
    }
    for t in &toks {
        match &t.kind {
            Kind::Ident(w) if w.eq_ignore_ascii_case("redirect") => errors.push(at(
                t.line,
                "redirect is not available in postdesk (mail leaves only through its outbox)"
                    .into(),
            )),
            Kind::Ident(w) if w.eq_ignore_ascii_case("duplicate") => errors.push(at(
                t.line,
                "the duplicate test is not available in postdesk".into(),
            )),
            _ => {}
        }
    }
    if let Err(e) = compiler.compile(src.as_bytes()) {
        // One report a line: ours (e.g. "duplicate is not available") explains it better.
        if !errors.iter().any(|x| x.line == Some(e.line_num())) {
            errors.push(at(e.line_num(), compile_message(&e)));
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(errors);
    }

    let (marked, markers) = mark(src, &toks);
    match compiler.compile(marked.as_bytes()) {
        Ok(compiled) => Ok(Script {
            file: file.to_path_buf(),
            compiled: Arc::new(compiled),
            markers,
        }),
        Err(_) => {
            // `lex` disagreed with sieve-rs about this script: run it unmarked, lines unknown.
            let compiled = compiler
                .compile(src.as_bytes())
                .map_err(|e| vec![at(e.line_num(), compile_message(&e))])?;
            Ok(Script {
                file: file.to_path_buf(),
                compiled: Arc::new(compiled),
                markers: Vec::new(),
            })
        }
    }
}

/// sieve-rs's message without its " at line L, column C." (the line is in our prefix).
fn compile_message(e: &sieve::compiler::CompileError) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => format!(
            "{} (column {})",
            text[..i].trim_end_matches('.'),
            e.line_pos()
        ),
        None => text,
    }
}

/// The marked copy of `src` and its markers, in source order.
fn mark(src: &str, toks: &[lex::Token]) -> (String, Vec<Marker>) {
    let mut out = String::with_capacity(src.len() * 2);
    out.push_str("require \"duplicate\";");
    let mut markers = Vec::new();
    let mut last = 0;
    for t in lex::commands(toks) {
        let Some(word) = lex::word(t) else { continue };
        if !MARKED.contains(&word.as_str()) {
            continue;
        }
        out.push_str(&src[last..t.offset]);
        out.push_str(&format!(
            "if duplicate :uniqueid \"{MARKER_ID}{}\" {{}} ",
            markers.len()
        ));
        markers.push(Marker {
            command: word,
            line: t.line,
        });
        last = t.offset;
    }
    out.push_str(&src[last..]);
    (out, markers)
}
