// The default seccomp profile as data: syscall names grouped by purpose, then
// the conditional groups. The facts (which call is allowed when) follow
// Docker's default profile; see seccomp_profile.h for where we differ.
#include "engine/seccomp_profile.h"

// Each row names only the fields its group uses; the rest keep their defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace berth::engine {

namespace {

// clone(2) flags that create namespaces: NEWNS NEWCGROUP NEWUTS NEWIPC
// NEWUSER NEWPID NEWNET. Without CAP_SYS_ADMIN a container may clone threads
// and processes but not new namespaces (user namespaces are the usual first
// step of kernel exploits).
constexpr uint64_t kCloneNamespaceFlags = 0x7E020000;
constexpr uint32_t kEnosys = 38;

}  // namespace

const std::vector<SeccompGroup>& default_seccomp_groups() {
  static const std::vector<SeccompGroup> groups = {
    // Files, directories, descriptors and extended attributes.
    {"files", {
        "_llseek", "access", "chdir", "chmod", "chown", "chown32", "close", "close_range",
        "copy_file_range", "creat", "dup", "dup2", "dup3", "faccessat", "faccessat2",
        "fadvise64", "fadvise64_64", "fallocate", "fchdir", "fchmod", "fchmodat", "fchmodat2",
        "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr",
        "flistxattr", "flock", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64",
        "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futimesat", "getcwd",
        "getdents", "getdents64", "getxattr", "getxattrat", "ioctl", "lchown", "lchown32",
        "lgetxattr", "link", "linkat", "listmount", "listxattr", "listxattrat", "llistxattr",
        "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "mkdir", "mkdirat", "mknod",
        "mknodat", "name_to_handle_at", "newfstatat", "open", "openat", "openat2", "pread64",
        "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
        "readlinkat", "readv", "removexattr", "removexattrat", "rename", "renameat", "renameat2",
        "rmdir", "setxattr", "setxattrat", "splice", "stat", "stat64", "statfs", "statfs64",
        "statmount", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "tee",
        "truncate", "truncate64", "unlink", "unlinkat", "vmsplice", "write", "writev",
    }},
    // Memory mappings and locks.
    {"memory", {
        "brk", "cachestat", "get_thread_area", "madvise", "map_shadow_stack", "memfd_create",
        "memfd_secret", "mincore", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
        "mremap", "mseal", "msync", "munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free",
        "pkey_mprotect", "remap_file_pages", "set_thread_area",
    }},
    // Processes, threads, scheduling and limits.
    {"process", {
        "execve", "execveat", "exit", "exit_group", "fork", "get_robust_list", "getcpu",
        "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getrlimit",
        "getrusage", "getsid", "gettid", "ioprio_get", "ioprio_set", "landlock_add_rule",
        "landlock_create_ruleset", "landlock_restrict_self", "pidfd_open", "prctl", "prlimit64",
        "process_mrelease", "restart_syscall", "riscv_hwprobe", "rseq", "sched_get_priority_max",
        "sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
        "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
        "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
        "sched_yield", "seccomp", "set_robust_list", "set_tid_address", "setpgid", "setpriority",
        "setrlimit", "setsid", "sysinfo", "ugetrlimit", "umask", "uname", "uretprobe", "vfork",
    }},
    // User and group identity of the caller.
    {"identity", {
        "capget", "capset", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
        "getgroups", "getgroups32", "getresgid", "getresgid32", "getresuid", "getresuid32",
        "getuid", "getuid32", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid",
        "setgid32", "setgroups", "setgroups32", "setregid", "setregid32", "setresgid",
        "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setuid",
        "setuid32",
    }},
    // Signals.
    {"signals", {
        "alarm", "kill", "pause", "pidfd_send_signal", "rt_sigaction", "rt_sigpending",
        "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
        "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sigaltstack", "signalfd", "signalfd4",
        "sigprocmask", "sigreturn", "tgkill", "tkill",
    }},
    // Reading clocks and timers (setting the clock needs CAP_SYS_TIME).
    {"time", {
        "adjtimex", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
        "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
        "getitimer", "gettimeofday", "nanosleep", "setitimer", "time", "timer_create",
        "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
        "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
        "timerfd_settime", "timerfd_settime64", "times", "utime", "utimensat",
        "utimensat_time64", "utimes",
    }},
    // Waiting, event notification and System V / POSIX IPC.
    {"events", {
        "_newselect", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
        "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
        "fanotify_mark", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
        "futex_wake", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
        "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
        "io_setup", "io_submit", "ipc", "membarrier", "mq_getsetattr", "mq_notify", "mq_open",
        "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
        "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd", "pipe", "pipe2", "poll", "ppoll",
        "ppoll_time64", "pselect6", "pselect6_time64", "select", "semctl", "semget", "semop",
        "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget", "wait4",
        "waitid", "waitpid",
    }},
    // Sockets, except socket(2) itself, which is filtered by family below.
    {"network", {
        "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
        "listen", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send",
        "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown",
        "socketcall", "socketpair",
    }},
    // ptrace became safe to allow with kernel 4.8, which stopped ptrace from
    // bypassing seccomp; every kernel Berth supports is newer.
    {"debugging", {"ptrace", "process_vm_readv", "process_vm_writev"}},
    // socket(2) by address family: everything below AF_ALG (38), AF_KCM (39)
    // and everything above AF_VSOCK (40).
    {"socket families", {"socket"}, {},
     {{0, 38, 0, "SCMP_CMP_LT"}, {0, 39, 0, "SCMP_CMP_EQ"}, {0, 40, 0, "SCMP_CMP_GT"}}},
    // personality(2): PER_LINUX, UNAME26, PER_LINUX32, PER_LINUX32|UNAME26 and
    // the query value; READ_IMPLIES_EXEC and friends stay refused.
    {"personality", {"personality"}, {},
     {{0, 0x0, 0, "SCMP_CMP_EQ"},
      {0, 0x8, 0, "SCMP_CMP_EQ"},
      {0, 0x20000, 0, "SCMP_CMP_EQ"},
      {0, 0x20008, 0, "SCMP_CMP_EQ"},
      {0, 0xffffffff, 0, "SCMP_CMP_EQ"}}},
    // Architecture-specific calls.
    {"ppc64le", {"sync_file_range2", "swapcontext"}, {{"ppc64le"}}},
    {"arm", {"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
             "cacheflush", "set_tls"}, {{"arm", "arm64"}}},
    {"x86 thread state", {"arch_prctl"}, {{"amd64", "x32"}}},
    {"x86 LDT", {"modify_ldt"}, {{"amd64", "x32", "x86"}}},
    {"s390", {"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"},
     {{"s390", "s390x"}}},
    {"riscv", {"riscv_flush_icache"}, {{"riscv64"}}},
    // Calls a capability makes meaningful.
    {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}, {{}, {}, "CAP_DAC_READ_SEARCH"}},
    {"CAP_SYS_ADMIN", {"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount",
                       "fsopen", "fspick", "lookup_dcookie", "lsm_get_self_attr",
                       "lsm_list_modules", "lsm_set_self_attr", "mount", "mount_setattr",
                       "move_mount", "open_tree", "perf_event_open", "quotactl",
                       "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog",
                       "umount", "umount2", "unshare"},
     {{}, {}, "CAP_SYS_ADMIN"}},
    {"clone without namespaces", {"clone"}, {{}, {"s390", "s390x"}, {}, "CAP_SYS_ADMIN"},
     {{0, kCloneNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ"}}},
    // s390 passes the clone flags in the second argument.
    {"clone without namespaces (s390)", {"clone"}, {{"s390", "s390x"}, {}, {}, "CAP_SYS_ADMIN"},
     {{1, kCloneNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ"}}},
    // clone3 passes its flags in memory, where seccomp cannot look: answer
    // ENOSYS so that libc falls back to clone, which the rule above checks.
    {"clone3 fallback", {"clone3"}, {{}, {}, {}, "CAP_SYS_ADMIN"}, {}, "SCMP_ACT_ERRNO", kEnosys},
    {"CAP_SYS_BOOT", {"reboot"}, {{}, {}, "CAP_SYS_BOOT"}},
    {"CAP_SYS_CHROOT", {"chroot"}, {{}, {}, "CAP_SYS_CHROOT"}},
    {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module"},
     {{}, {}, "CAP_SYS_MODULE"}},
    {"CAP_SYS_PACCT", {"acct"}, {{}, {}, "CAP_SYS_PACCT"}},
    {"CAP_SYS_PTRACE", {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
                        "process_vm_writev", "ptrace"},
     {{}, {}, "CAP_SYS_PTRACE"}},
    {"CAP_SYS_RAWIO", {"iopl", "ioperm"}, {{}, {}, "CAP_SYS_RAWIO"}},
    {"CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_settime64"},
     {{}, {}, "CAP_SYS_TIME"}},
    {"CAP_SYS_TTY_CONFIG", {"vhangup"}, {{}, {}, "CAP_SYS_TTY_CONFIG"}},
    {"CAP_SYS_NICE", {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"},
     {{}, {}, "CAP_SYS_NICE"}},
    {"CAP_SYSLOG", {"syslog"}, {{}, {}, "CAP_SYSLOG"}},
    {"CAP_BPF", {"bpf"}, {{}, {}, "CAP_BPF"}},
    {"CAP_PERFMON", {"perf_event_open"}, {{}, {}, "CAP_PERFMON"}},
  };
  return groups;
}

}  // namespace berth::engine
