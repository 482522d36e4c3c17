#!/bin/bash
# The Pi twin's agent, run at every boot from the share: the host drops numbered command
# files into cmd/, the agent runs each in the background and leaves its output and exit
# code in out/ (the code last, so the host knows the output is whole).
S=/mnt/share
mkdir -p "$S/out"
echo "$(cat /proc/sys/kernel/random/boot_id)" >"$S/out/booted"
while :; do
    for f in "$S"/cmd/*.sh; do
        [ -e "$f" ] || continue
        n=$(basename "$f" .sh)
        mv "$f" "$S/out/$n.sh"
        ( bash "$S/out/$n.sh" >"$S/out/$n.out" 2>&1; echo $? >"$S/out/$n.rc.new"; mv "$S/out/$n.rc.new" "$S/out/$n.rc" ) &
    done
    sleep 0.1
done
