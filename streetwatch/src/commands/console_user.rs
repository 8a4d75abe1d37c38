//! `streetwatch console-user`: adds a console account (or changes its role and
//! password) in the users file. The password is read from stdin, so it is never on
//! a command line (where `ps` and shell history would show it).

use std::io::BufRead;

use console::users::{set_district, upsert_user, Role};

use crate::cli::ConsoleUserArgs;
use crate::exit_code;

pub fn console_user(args: &ConsoleUserArgs) -> i32 {
    let Some(role) = Role::parse(&args.role) else {
        eprintln!("error: --role must be viewer, operator or admin");
        return exit_code::USAGE;
    };
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("password for `{}` (input is shown; pipe it in to hide it), then Enter:", args.name);
    }
    let mut password = String::new();
    if let Err(e) = std::io::stdin().lock().read_line(&mut password) {
        eprintln!("error: cannot read the password from stdin: {e}");
        return exit_code::USAGE;
    }
    let password = password.trim_end_matches(['\n', '\r']);
    // Without --site/--grid an existing account keeps its district (never widened by accident).
    let limited = !(args.sites.is_empty() && args.grids.is_empty());
    let written = upsert_user(&args.users_file, &args.name, role, password).and_then(|()| {
        if limited {
            set_district(&args.users_file, &args.name, &args.sites, &args.grids)
        } else {
            Ok(())
        }
    });
    match written {
        Ok(()) => {
            let district =
                if limited { format!(", sites {:?}, grids {:?}", args.sites, args.grids) } else { String::new() };
            println!("account `{}` ({}{district}) written to {}", args.name, role.name(), args.users_file.display());
            exit_code::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit_code::USAGE
        }
    }
}
