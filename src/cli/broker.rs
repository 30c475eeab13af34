//! `cicada broker`: the embedded MQTT broker (rumqttd) as a standalone
//! server, the default target of MQTT scenarios.

use cicada_targets::addr::parse_listen_addr;
use cicada_targets::broker::{self, BrokerOptions};
use clap::Args;

use super::{bad_input, could_not_run, Exit, Failure};

/// Arguments of `cicada broker`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  cicada broker                                  # MQTT 3.1.1 on 127.0.0.1:1883
  cicada broker --addr :0                        # a free port, printed on the first line
  cicada broker --addr :1884 --v5-addr :1885     # MQTT 5 on a second port
  cicada run examples/lampi.yaml --host mqtt://127.0.0.1:1884")]
pub struct BrokerArgs {
    /// MQTT 3.1.1 listen address: HOST:PORT, or :PORT for loopback (:0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:1883")]
    pub addr: String,
    /// Also serve MQTT 5 on this address (rumqttd serves one version per listener).
    #[arg(long)]
    pub v5_addr: Option<String>,
    /// Most clients connected at once.
    #[arg(long, default_value_t = 50_000)]
    pub max_connections: usize,
}

/// Runs the broker until Ctrl-C.
pub fn run(args: BrokerArgs) -> Result<Exit, Failure> {
    let mut options = BrokerOptions::new(parse_listen_addr(&args.addr).map_err(bad_input)?);
    options.v5_addr = args
        .v5_addr
        .as_deref()
        .map(parse_listen_addr)
        .transpose()
        .map_err(bad_input)?;
    options.max_connections = args.max_connections;
    super::raise_fd_limit();
    let running = broker::start(&options).map_err(could_not_run)?;
    print!("MQTT broker listening on mqtt://{}", running.addr);
    if let Some(v5) = running.v5_addr {
        print!(" (MQTT 5 on mqtt://{v5})");
    }
    println!();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(could_not_run)?;
    runtime.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    Ok(Exit::Ok)
}
