//! `ast-locks-synth [THREADS] [CYCLES] [CONVOYS] [SEED]`: print a synthetic 21+
//! `core show locks` dump. CYCLES and CONVOYS are comma-separated sizes
//! (`2,3`; `-` for none). Example: `ast-locks-synth 1000 2,3 6 7`.

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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
