package opts

// Usage is the text of keel -h, laid out like nats-server's. Flags for
// features Keel does not have yet are accepted: TLS flags are refused with
// a message, the others start the server with a warning.
const Usage = `
Usage: keel [options]

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222, -1 for any free port)
    -n, --name
        --server_name <server_name>  Server name (default: the server's ID)
    -P, --pid <file>                 File to store the process ID
    -m, --http_port <port>           Use port for HTTP monitoring
    -ms,--https_port <port>          Use port for HTTPS monitoring (not available yet)
    -c, --config <file>              Configuration file (nats-server format)
    -t                               Test the configuration and exit
        --test_reload <file>         With -t, test whether this configuration file can be reloaded
                                     (exit code 3 if a restart is required)
    -sl,--signal <signal>[=<pid>]    Send a signal to a running keel process (ldm, stop, quit, term, reopen, reload)
                                     <pid> can be a process ID (e.g. 1) or the path to a PID file (e.g. /var/run/keel.pid)
        --client_advertise <string>  Client URL to advertise to other servers
        --ports_file_dir <dir>       Creates a ports file in the specified directory

Logging Options:
    -l, --log <file>                 File to redirect log output to
    -T, --logtime                    Timestamp log entries (default: true)
        --logtime_utc                Timestamps in UTC instead of the local time zone (default: false)
    -s, --syslog                     Log to the local syslog
    -r, --remote_syslog <addr>       Syslog server address (udp://host:514, tcp://host:514 or unix:///dev/log)
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -VV                              Verbose trace (traces the system account as well)
    -DV                              Debug and trace
    -DVV                             Debug and verbose trace (traces the system account as well)
        --log_size_limit <limit>     Log file size limit in bytes; the file rotates when it is reached
        --max_traced_msg_len <len>   Maximum printable length for traced messages (default: unlimited)

JetStream Options:
    -js, --jetstream                 Enable JetStream
    -sd, --store_dir <dir>           Set the storage directory

Authorization Options:
        --user <user>                User required for connections
        --pass <password>            Password required for connections
        --auth <token>               Authorization token required for connections

TLS Options (not supported yet: keel refuses to start with them):
        --tls                        Enable TLS, do not verify clients
        --tlscert <file>             Server certificate file
        --tlskey <file>              Private key for the server certificate
        --tlsverify                  Enable TLS, verify client certificates
        --tlscacert <file>           Client certificate CA for verification

Cluster Options (not available yet: keel runs standalone):
        --routes <rurl-1, rurl-2>    Routes to solicit and connect
        --cluster <cluster-url>      Cluster URL for solicited routes
        --cluster_name <string>      Cluster name
        --no_advertise <bool>        Do not advertise known cluster information to clients
        --cluster_advertise <string> Cluster URL to advertise to other servers
        --connect_retries <number>   For implicit routes, number of connect retries
        --cluster_listen <url>       Cluster URL from which members can solicit routes

Profiling Options:
        --profile <port>             Profiling HTTP port

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version
        --help_tls                   TLS help
`

// TLSUsage is the text of keel --help_tls.
const TLSUsage = `
TLS Options:

Keel does not support TLS yet. A configuration that enables TLS (a tls
block, or the --tls, --tlscert, --tlskey, --tlsverify or --tlscacert flags)
makes keel refuse to start, so that clients are never served in plain text
when encryption was asked for. Terminate TLS in front of keel (for example
with a proxy) until it is supported.
`
