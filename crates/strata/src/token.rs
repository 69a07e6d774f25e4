//! `token create|ls|rm` and `audit`: team mode's tokens and the audit log.

use clap::{Args, Subcommand};
use docker_format::Table;
use engine::{Engine, Role};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token for `strata serve --auth`; prints the secret once
    Create {
        /// viewer (read), operator (pull/tag/commit/push/load), admin (also rmi/prune/gc)
        #[arg(long = "role", default_value = "viewer")]
        role: String,
        /// NAME (shown in the audit log)
        name: String,
    },
    /// List tokens
    Ls,
    /// Delete a token
    Rm {
        /// NAME
        name: String,
    },
}

pub fn token(engine: &Engine, c: TokenCommand) -> anyhow::Result<()> {
    match c {
        TokenCommand::Create { role, name } => {
            let secret = engine.create_token(&name, Role::parse(&role)?)?;
            println!("{secret}");
        }
        TokenCommand::Ls => {
            let mut t = Table::new();
            t.row(["NAME", "ROLE", "CREATED"]);
            for tok in engine.tokens()? {
                t.row([tok.name, tok.role, crate::inspect::rfc3339(tok.created)]);
            }
            print!("{}", t.render());
        }
        TokenCommand::Rm { name } => {
            engine.delete_token(&name)?;
            println!("{name}");
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct AuditArgs {
    /// Show at most this many of the newest entries
    #[arg(long = "limit", default_value_t = 100)]
    limit: u32,
}

pub fn audit(engine: &Engine, a: AuditArgs) -> anyhow::Result<()> {
    let mut t = Table::new();
    t.row(["TIME", "WHO", "ACTION", "TARGET", "RESULT"]);
    for e in engine.audit_log(a.limit)? {
        t.row([
            crate::inspect::rfc3339(e.time),
            e.who,
            e.action,
            e.target,
            e.result,
        ]);
    }
    print!("{}", t.render());
    Ok(())
}
