#!/bin/busybox sh
# /init of the kernel matrix's guest, completed by xtask/src/kernels/initramfs.rs: mounts what
# the tracer reads (/proc, /sys with the kernel's BTF, /dev), loads the results disk's driver,
# runs each check into /results/<check>/, writes /results as a tar archive onto the raw disk
# /dev/vda and powers off. Progress lines start with "xtask:" on the console.

# Host programs (sh, true, ls, sleep) are in place already; busybox fills in the rest.
/bin/busybox --install -s /bin 2>/dev/null
export PATH=/bin:/progs
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp

say() { echo "xtask: $*"; }
uptime_s() { read -r u _ < /proc/uptime; echo "$u"; }

boot_s=$(uptime_s)
say "init at ${boot_s} s, kernel $(uname -r)"
case " $(cat /proc/cmdline) " in
*" xtask.probe "*)
    say "probe ok"
    poweroff -f
    ;;
esac

say "clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"

for m in /modules/*.ko; do
    [ -e "$m" ] && insmod "$m"
done
R=/results
mkdir -p $R
uname -r > $R/kernel_release
echo "$boot_s" > $R/boot_s
if [ -e /sys/kernel/btf/vmlinux ]; then echo yes > $R/btf; else echo no > $R/btf; fi
T=@CHECK_TIMEOUT_S@

# rec ARGS: `tracer record -o $D/out.parquet ARGS` in the foreground (so SIGINT keeps its
# default disposition, as under a terminal), its pid in $D/tracer_pid, stdout and stderr in
# $D/stdout and $D/stderr, exit status in $D/status; killed after $T s ($D/timed_out, with
# the processes left in $D/ps_at_timeout).
rec() {
    (
        sleep $T
        echo $T > $D/timed_out
        ps -o pid,ppid,stat,comm,args > $D/ps_at_timeout 2>&1
        kill -KILL "$(cat $D/tracer_pid)"
    ) &
    watchdog=$!
    sh -c 'echo $$ > "$0/tracer_pid"; exec tracer record -o "$0/out.parquet" "$@"' "$D" "$@" \
        > $D/stdout 2> $D/stderr
    echo $? > $D/status
    kill $watchdog 2>/dev/null
}

# command_started NAME: whether the check's tracer has a child named NAME (its command, after
# the exec).
command_started() {
    [ -s $D/tracer_pid ] || return 1
    tp=$(cat $D/tracer_pid)
    for s in /proc/[0-9]*/stat; do
        read -r _ comm _ ppid _ 2>/dev/null < "$s" || continue
        [ "$ppid" = "$tp" ] && [ "$comm" = "($1)" ] && return 0
    done
    return 1
}

# signal_after SIG SECONDS NAME: sends SIG to the check's tracer SECONDS after its command NAME
# started, noting the uptime in $D/signalled_at.
signal_after() {
    (
        while ! command_started "$3"; do sleep 0.05; done
        sleep "$2"
        uptime_s > $D/signalled_at
        kill -"$1" "$(cat $D/tracer_pid)"
    ) &
}

run_check() {
    D=$R/$1
    mkdir -p $D
    say "check $1: start"
    uptime_s > $D/started_at
    "check_$1"
    uptime_s > $D/ended_at
    say "check $1: done, status $(cat $D/status 2>/dev/null)"
}

@CHECKS@
say "checks done"
tar -c -f /dev/vda -C $R . && sync && say "results written"
poweroff -f
