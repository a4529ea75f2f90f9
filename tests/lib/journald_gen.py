#!/usr/bin/env python3
"""journald_gen.py FROM COUNT - journal export-format entries for the
in_journald tests, to pipe into systemd-journal-remote.

Entry i is of kind i % 10, like a libvirt/KVM host's journal:
  0 audit VIRT_CONTROL start   -> vm.started
  1 audit VIRT_RESOURCE        -> vm.resource
  2 audit VIRT_MACHINE_ID      -> vm.security_label
  3 libvirtd warning (taint)   -> journal.message
  4 libvirtd error             -> journal.message
  5 systemd-machined start     -> vm.registered
  6 systemd scope message      (not matched by the defaults)
  7 QEMU stderr under a unit   -> journal.message
  8, 9 sshd                    (not matched)
Every entry carries TEST_SEQ=i; realtime is BASE + i ms (--base USEC)."""
import sys

VMS = [("vm-web01", "0f3c6a62-4d3e-4bb4-9a51-2f7c0c9a1e01"),
       ("vm-db02", "7b1e2d44-90aa-4c1f-8e7e-5d2a1c3b4f02"),
       ("colo-pri", "c0105e11-2222-4333-8444-555566667777")]


def audit(tname, i, user):
    return [("_TRANSPORT", "audit"), ("_AUDIT_TYPE_NAME", tname), ("_AUDIT_ID", str(1000 + i)),
            ("SYSLOG_IDENTIFIER", "audit"), ("_PID", "1187"), ("_UID", "0"),
            ("MESSAGE", f"{tname} pid=1187 uid=0 auid=4294967295 ses=4294967295 subj=unconfined "
                        f"msg='{user} exe=\"/usr/sbin/libvirtd\" hostname=? addr=? terminal=? res=success'")]


def trusted(comm, pid):
    return [("_PID", str(pid)), ("_UID", "0"), ("_GID", "0"), ("_COMM", comm),
            ("_EXE", f"/usr/sbin/{comm}"), ("_SYSTEMD_UNIT", f"{comm}.service")]


def entry(i):
    name, uuid = VMS[i % 3]
    k = i % 10
    if k == 0:
        return audit("VIRT_CONTROL", i, f'virt=kvm op=start reason=booted vm="{name}" uuid={uuid} vm-pid={20000 + i % 3}')
    if k == 1:
        return audit("VIRT_RESOURCE", i, f'virt=kvm resrc=mem reason=start vm="{name}" uuid={uuid} old-mem=0 new-mem=4194304')
    if k == 2:
        return audit("VIRT_MACHINE_ID", i, f'virt=kvm vm="{name}" uuid={uuid} vm-ctx=libvirt-{uuid} img-ctx=libvirt-{uuid} model=apparmor')
    if k in (3, 4):
        return trusted("libvirtd", 1187) + [
            ("_TRANSPORT", "journal"), ("PRIORITY", "4" if k == 3 else "3"), ("LIBVIRT_SOURCE", "qemu.qemu_domain"),
            ("CODE_FUNC", "qemuDomainObjTaintMsg"),
            ("MESSAGE", f"Domain id=3 name='{name}' uuid={uuid} is tainted: custom-monitor")]
    if k == 5:
        return trusted("systemd-machine", 612) + [
            ("_TRANSPORT", "journal"), ("PRIORITY", "6"), ("SYSLOG_IDENTIFIER", "systemd-machined"),
            ("MESSAGE_ID", "24d8d4452573402496068381a6312df2"), ("NAME", f"qemu-3-{name}"), ("LEADER", "20003"),
            ("MESSAGE", f"New machine qemu-3-{name}.")]
    if k == 6:
        return trusted("systemd", 1) + [("_TRANSPORT", "journal"), ("SYSLOG_IDENTIFIER", "systemd"),
                                        ("MESSAGE", "Started machine-qemu.scope.")]
    if k == 7:
        return trusted("qemu-system-x86", 20003) + [
            ("_TRANSPORT", "stdout"), ("PRIORITY", "6"), ("SYSLOG_IDENTIFIER", "qemu-system-x86_64"),
            ("MESSAGE", "qemu-system-x86_64: terminating on signal 15 from pid 1187")]
    return trusted("sshd", 4242) + [("_TRANSPORT", "syslog"), ("SYSLOG_IDENTIFIER", "sshd"),
                                    ("MESSAGE", f"Accepted publickey for ops from 192.0.2.{i % 250}")]


def main():
    args = sys.argv[1:]
    base = 1795380000000000
    if "--base" in args:
        k = args.index("--base")
        base = int(args[k + 1])
        del args[k:k + 2]
    first, count = int(args[0]), int(args[1])
    out = []
    for i in range(first, first + count):
        lines = [f"__REALTIME_TIMESTAMP={base + i * 1000}", f"__MONOTONIC_TIMESTAMP={1000000 + i * 1000}",
                 "_BOOT_ID=6156dc34f51146b6b425b4cafe6e7aad", "_HOSTNAME=hv01"]
        lines += [f"{k}={v}" for k, v in entry(i)]
        lines.append(f"TEST_SEQ={i}")
        out.append("\n".join(lines) + "\n\n")
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
