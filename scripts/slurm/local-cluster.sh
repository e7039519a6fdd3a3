#!/usr/bin/env bash
# Stand up, inspect or stop a real single-node Slurm cluster on this machine.
#
#   scripts/slurm/local-cluster.sh up       install (if missing), configure, start, wait until idle
#   scripts/slurm/local-cluster.sh status   daemons, partitions, node state
#   scripts/slurm/local-cluster.sh down     stop slurmctld, slurmd and munged
#
# For CI and local testing of the Snakemake Slurm profile (profiles/slurm-local), on Debian 12 as
# root without systemd: the daemons run as plain background processes. The node offers two
# partitions (`cpu`, the default, and `gpu`) and fake GPUs (a GRES `gpu` whose devices are copies
# of /dev/null), so that `--gpus=1` jobs are scheduled like on a GPU cluster. No accounting (no
# slurmdbd, no sacct). Don't run `down` while a Snakemake run polls the cluster: plugin 2.8.0 then
# loses track of its jobs and waits forever (docs/slurm.md).
#
# Environment knobs (defaults in brackets):
#   LOCAL_SLURM_GPUS      fake GPUs on the node [1]
#   LOCAL_SLURM_WAIT_S    seconds to wait for the node to become idle [60]
#   LOCAL_SLURM_FORCE=1   overwrite an /etc/slurm/slurm.conf this script did not write
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly CONF_DIR=/etc/slurm
readonly STATE_DIR=/var/lib/slurm
readonly LOG_DIR=/var/log/slurm
readonly RUN_DIR=/run/slurm
readonly MUNGE_RUN_DIR=/run/munge
readonly MUNGE_PIDFILE="$MUNGE_RUN_DIR/munged.pid"
readonly MARKER="# Managed by hotseller scripts/slurm/local-cluster.sh"
readonly GPUS="${LOCAL_SLURM_GPUS:-1}"
[[ "$GPUS" =~ ^[1-9][0-9]*$ ]] || { echo "local-cluster: LOCAL_SLURM_GPUS must be a positive integer, not '$GPUS'" >&2; exit 2; }
readonly WAIT_S="${LOCAL_SLURM_WAIT_S:-60}"

log() { printf 'local-cluster: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

node_name() { hostname -s; }

# Pid from a pidfile if that process is alive, else nothing.
live_pid() {
    local pidfile="$1" pid
    [[ -r "$pidfile" ]] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

install_packages() {
    local missing=0 cmd
    for cmd in munged slurmctld slurmd sbatch sinfo squeue scontrol; do
        command -v "$cmd" >/dev/null 2>&1 || missing=1
    done
    (( missing )) || return 0
    [[ $EUID -eq 0 ]] || die "Slurm is not installed and installing it needs root"
    command -v apt-get >/dev/null 2>&1 || die "Slurm is not installed and apt-get is not available (Debian/Ubuntu only)"
    log "installing slurm-wlm and munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
}

render() {
    local template="$1" cpus real_mem def_mem avail_kb
    cpus="$(nproc)"
    avail_kb="$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)"
    # Three quarters of the memory free now, in whole GiB: slurmd drains a node whose
    # RealMemory exceeds what it finds, and other processes on this machine need room too.
    real_mem=$(( avail_kb * 3 / 4 / 1024 / 1024 * 1024 ))
    (( real_mem >= 1024 )) || die "less than 1.4 GiB of free memory ($((avail_kb / 1024)) MiB): too little for a Slurm node"
    def_mem=$(( real_mem / cpus ))
    (( def_mem <= 2048 )) || def_mem=2048
    sed -e "s|@HOST@|$(node_name)|g" \
        -e "s|@CPUS@|$cpus|g" \
        -e "s|@REAL_MEMORY@|$real_mem|g" \
        -e "s|@DEF_MEM_PER_CPU@|$def_mem|g" \
        -e "s|@GPUS@|$GPUS|g" \
        -e "s|@GPU_FILES@|$(gpu_files)|g" \
        -e "s|@STATE_DIR@|$STATE_DIR|g" \
        -e "s|@LOG_DIR@|$LOG_DIR|g" \
        -e "s|@RUN_DIR@|$RUN_DIR|g" \
        "$template"
}

# Device files standing in for the GPUs, as gres.conf's File= wants them.
gpu_files() {
    if (( GPUS == 1 )); then
        printf '%s/fake-nvidia0' "$RUN_DIR"
    else
        printf '%s/fake-nvidia[0-%d]' "$RUN_DIR" "$(( GPUS - 1 ))"
    fi
}

# Slurm's gpu GRES needs one device file per GPU (a count without files registers as 0 GPUs and
# drains the node; regular files work but leave CUDA_VISIBLE_DEVICES unset): make /dev/null clones.
make_fake_gpus() {
    local i device
    mkdir -p "$RUN_DIR"
    for (( i = 0; i < GPUS; i++ )); do
        device="$RUN_DIR/fake-nvidia$i"
        [[ -c "$device" ]] && continue
        rm -f "$device"
        mknod -m 666 "$device" c 1 3 || die "cannot create the fake GPU device $device (mknod c 1 3)"
    done
}

write_config() {
    local conf
    mkdir -p "$CONF_DIR"
    for conf in slurm.conf gres.conf; do
        if [[ -e "$CONF_DIR/$conf" ]] && ! grep -qF "$MARKER" "$CONF_DIR/$conf" \
            && [[ "${LOCAL_SLURM_FORCE:-0}" != 1 ]]; then
            die "$CONF_DIR/$conf exists and was not written by this script; refusing to replace it (set LOCAL_SLURM_FORCE=1 to override)"
        fi
    done
    render "$SCRIPT_DIR/slurm.conf.in" >"$CONF_DIR/slurm.conf"
    render "$SCRIPT_DIR/gres.conf.in" >"$CONF_DIR/gres.conf"
    chmod 644 "$CONF_DIR/slurm.conf" "$CONF_DIR/gres.conf"
}

start_munge() {
    if live_pid "$MUNGE_PIDFILE" >/dev/null; then
        return 0
    fi
    [[ -s /etc/munge/munge.key ]] || { log "creating a munge key"; mungekey --create --keyfile=/etc/munge/munge.key; }
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
    mkdir -p "$MUNGE_RUN_DIR" /var/log/munge /var/lib/munge
    chown munge:munge "$MUNGE_RUN_DIR" /var/log/munge /var/lib/munge
    chmod 755 "$MUNGE_RUN_DIR"
    rm -f "$MUNGE_RUN_DIR"/munge.socket.2*  # a stale socket from a killed munged blocks a restart
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged
    local i
    for (( i = 0; i < 50; i++ )); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "munged did not answer within 10 s; see /var/log/munge/munged.log"
}

failed_to_start() {
    tail -n 15 "$LOG_DIR/$1.log" 2>/dev/null | sed "s/^/  $1.log: /" >&2 || true
    die "$1 did not start"
}

start_slurm_daemons() {
    mkdir -p "$STATE_DIR/slurmctld" "$STATE_DIR/slurmd" "$LOG_DIR" "$RUN_DIR"
    if ! live_pid "$RUN_DIR/slurmctld.pid" >/dev/null; then
        log "starting slurmctld"
        /usr/sbin/slurmctld || failed_to_start slurmctld
    fi
    if ! live_pid "$RUN_DIR/slurmd.pid" >/dev/null; then
        log "starting slurmd"
        /usr/sbin/slurmd || failed_to_start slurmd
    fi
}

# Node state as sinfo reports it ("idle", "mixed", "down*", ...); empty while slurmctld is not answering.
node_state() {
    sinfo --noheader --nodes="$(node_name)" --format='%T' 2>/dev/null | head -n 1
}

wait_until_idle() {
    local deadline=$(( SECONDS + WAIT_S )) state="" resumed=0
    while (( SECONDS < deadline )); do
        state="$(node_state || true)"
        case "$state" in
            idle|mixed|allocated|completing) log "node $(node_name) is $state"; return 0 ;;
            drained*|draining*|down)
                # slurmctld remembers a node drained or downed before a restart; this node is ours.
                if (( ! resumed )); then
                    scontrol update NodeName="$(node_name)" State=RESUME >/dev/null 2>&1 || true
                    resumed=1
                fi ;;
        esac
        sleep 1
    done
    log "node $(node_name) not idle after ${WAIT_S} s (last state: '${state:-no answer from slurmctld}')"
    sinfo --long --Node 2>&1 | sed 's/^/  sinfo: /' >&2 || true
    scontrol show node "$(node_name)" 2>&1 | grep -i reason | sed 's/^/  /' >&2 || true
    tail -n 15 "$LOG_DIR/slurmctld.log" 2>/dev/null | sed 's/^/  slurmctld.log: /' >&2 || true
    tail -n 15 "$LOG_DIR/slurmd.log" 2>/dev/null | sed 's/^/  slurmd.log: /' >&2 || true
    die "the local Slurm cluster did not come up"
}

all_running() {
    live_pid "$MUNGE_PIDFILE" >/dev/null \
        && live_pid "$RUN_DIR/slurmctld.pid" >/dev/null \
        && live_pid "$RUN_DIR/slurmd.pid" >/dev/null
}

cmd_up() {
    [[ $EUID -eq 0 ]] || die "run as root: it writes /etc/slurm and starts system daemons"
    install_packages
    if all_running; then
        log "already running; leaving the configuration as it is (run 'down' then 'up' to regenerate it)"
    else
        write_config
        make_fake_gpus
        start_munge
        start_slurm_daemons
    fi
    wait_until_idle
    sinfo
}

# Stop one daemon by its pidfile: SIGTERM, then SIGKILL after a bounded wait.
stop_pidfile() {
    local name="$1" pidfile="$2" pid i
    pid="$(live_pid "$pidfile")" || { rm -f "$pidfile"; return 0; }
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for (( i = 0; i < 100; i++ )); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
        sleep 0.1
    done
    log "$name (pid $pid) ignored SIGTERM for 10 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

cmd_down() {
    [[ $EUID -eq 0 ]] || die "run as root"
    local queued
    queued="$(squeue --noheader --format='%i' 2>/dev/null | wc -l || true)"
    if (( ${queued:-0} > 0 )); then
        log "warning: $queued job(s) still queued or running; a Snakemake run waiting on them will hang"
    fi
    stop_pidfile slurmd "$RUN_DIR/slurmd.pid"
    stop_pidfile slurmctld "$RUN_DIR/slurmctld.pid"
    stop_pidfile munged "$MUNGE_PIDFILE"
    log "stopped"
}

cmd_status() {
    local name pidfile pid rc=0
    for name in munged slurmctld slurmd; do
        case "$name" in
            munged) pidfile="$MUNGE_PIDFILE" ;;
            *) pidfile="$RUN_DIR/$name.pid" ;;
        esac
        if pid="$(live_pid "$pidfile")"; then
            printf '%-10s running (pid %s)\n' "$name" "$pid"
        else
            printf '%-10s stopped\n' "$name"
            rc=1
        fi
    done
    if (( rc == 0 )); then
        sinfo || rc=1
    fi
    return "$rc"
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    *) printf 'usage: %s up|down|status\n' "$0" >&2; exit 2 ;;
esac
