#include "cli/sandbox.hpp"

#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <string>

namespace armvm {

namespace {

// Calls nobody running a VM needs (QEMU's default set): the process dies.
const char* const kDefault[] = {"reboot", "swapon", "swapoff", "syslog", "mount", "umount", "umount2",
                                "kexec_load", "kexec_file_load", "afs_syscall", "break", "ftime", "getpmsg",
                                "gtty", "lock", "mpx", "prof", "profil", "putpmsg", "security", "stty",
                                "tuxcall", "ulimit", "vserver"};
// obsolete=deny (the default with -sandbox on).
const char* const kObsolete[] = {"readdir", "_sysctl", "bdflush", "create_module", "get_kernel_syms",
                                 "query_module", "sgetmask", "ssetmask", "sysfs", "uselib", "ustat"};
// elevateprivileges=deny.
const char* const kPrivileges[] = {"setuid", "setgid", "setpgid", "setsid", "setreuid", "setregid",
                                   "setresuid", "setresgid", "setfsuid", "setfsgid"};
// resourcecontrol=deny.
const char* const kResource[] = {"setpriority", "sched_setparam", "sched_setscheduler", "sched_setaffinity",
                                 "sched_setattr"};

}  // namespace

Status apply_sandbox(const SandboxConfig& cfg) {
    if (!cfg.enable) return ok_status();
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) return make_error("-sandbox: failed to initialize seccomp context");
    auto fail = [&](const std::string& what, int rc) {
        seccomp_release(ctx);
        return make_error("-sandbox: " + what + ": " + std::strerror(-rc));
    };
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc < 0) return fail("failed to synchronise the filter across threads", rc);
    // Denied calls end the process (KILL_PROCESS where the kernel has it);
    // spawning fails with EPERM, so armvm's own callers (a tap script)
    // report an error instead of dying.
    uint32_t kill = SCMP_ACT_KILL_PROCESS;
    auto deny = [&](const char* name, uint32_t action) -> int {
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR) return 0;  // (not a call on this architecture)
        return seccomp_rule_add(ctx, action, nr, 0);
    };
    for (const char* n : kDefault)
        if ((rc = deny(n, kill)) < 0) return fail(std::string("cannot deny ") + n, rc);
    if (cfg.obsolete_deny)
        for (const char* n : kObsolete)
            if ((rc = deny(n, kill)) < 0) return fail(std::string("cannot deny ") + n, rc);
    if (cfg.elevate == SandboxConfig::Deny)
        for (const char* n : kPrivileges)
            if ((rc = deny(n, kill)) < 0) return fail(std::string("cannot deny ") + n, rc);
    if (cfg.resource_deny)
        for (const char* n : kResource)
            if ((rc = deny(n, kill)) < 0) return fail(std::string("cannot deny ") + n, rc);
    if (cfg.spawn_deny) {
        for (const char* n : {"fork", "vfork", "execve", "execveat"})
            if ((rc = deny(n, SCMP_ACT_ERRNO(EPERM))) < 0) return fail(std::string("cannot deny ") + n, rc);
        // clone: threads (CLONE_THREAD) stay possible, new processes not.
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
        if (rc < 0) return fail("cannot filter clone", rc);
        // clone3's flags are behind a pointer the filter cannot read:
        // ENOSYS makes the C library fall back to clone.
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        if (rc < 0) return fail("cannot filter clone3", rc);
    }
    if (cfg.elevate == SandboxConfig::Children && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        seccomp_release(ctx);
        return make_error(std::string("-sandbox: failed to set no_new_privs: ") + std::strerror(errno));
    }
    rc = seccomp_load(ctx);
    if (rc < 0) return fail("failed to install seccomp syscall filter in the kernel", rc);
    seccomp_release(ctx);
    return ok_status();
}

}  // namespace armvm
