//! `ast-locks-synth [THREADS] [CYCLES] [CONVOYS] [SEED]`: print a synthetic 21+
//! `core show locks` dump. CYCLES and CONVOYS are comma-separated sizes
//! (`2,3`; `-` for none). Example: `ast-locks-synth 1000 2,3 6 7`.
//!
//! `ast-locks-synth refs MEGABYTES [LEAKS] [SEED]`: print a synthetic refs log
//! (the leaked addresses go to standard error).

use std::io::Write;
use std::process::ExitCode;

fn sizes(arg: Option<&String>) -> Result<Vec<usize>, String> {
    match arg.map(String::as_str) {
        None | Some("-") | Some("") => Ok(Vec::new()),
        Some(list) => list
            .split(',')
            .map(|x| x.parse().map_err(|_| format!("`{x}` is not a size")))
            .collect(),
    }
}

fn refs(args: &[String]) -> ExitCode {
    let number = |i: usize, default: u64| -> Result<u64, String> {
        match args.get(i) {
            Some(s) => s.parse().map_err(|_| format!("`{s}` is not a number")),
            None => Ok(default),
        }
    };
    let spec = match (|| -> Result<_, String> {
        Ok(ast_locks_synth::refs::RefsSpec {
            bytes: number(0, 100)? << 20,
            leaks: number(1, 5)? as usize,
            seed: number(2, 1)?,
        })
    })() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ast-locks-synth: {e}\nusage: ast-locks-synth refs MEGABYTES [LEAKS] [SEED]");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match ast_locks_synth::refs::write(&spec, &mut out).and_then(|m| out.flush().map(|()| m)) {
        Ok(made) => {
            for a in made.leaked {
                eprintln!("{a:#x}");
            }
            ExitCode::SUCCESS
        }
        Err(_) => ExitCode::SUCCESS,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("refs") {
        return refs(&args[1..]);
    }
    let parsed = (|| -> Result<ast_locks_synth::Spec, String> {
        Ok(ast_locks_synth::Spec {
            threads: match args.first() {
                Some(n) => n
                    .parse()
                    .map_err(|_| format!("`{n}` is not a thread count"))?,
                None => 1000,
            },
            cycles: sizes(args.get(1))?,
            convoys: sizes(args.get(2))?,
            seed: match args.get(3) {
                Some(s) => s.parse().map_err(|_| format!("`{s}` is not a seed"))?,
                None => 1,
            },
        })
    })();
    match parsed {
        Ok(spec) => {
            let text = ast_locks_synth::dump(&spec, ast_locks_model::Generation::V21Plus);
            // A closed pipe is fine: the reader has what it wanted.
            let _ = std::io::stdout().lock().write_all(&text);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "ast-locks-synth: {e}\nusage: ast-locks-synth [THREADS] [CYCLES] [CONVOYS] [SEED]"
            );
            ExitCode::from(2)
        }
    }
}
