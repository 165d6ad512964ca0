#include "runtime/terminal.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

namespace berth::runtime {

Result<Pty> open_pty() {
  // /dev/ptmx of the current root: after pivot_root that is the container's
  // devpts instance, so the slave is visible inside the container.
  Fd master(open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return Error::sys(errno, "open /dev/ptmx");
  int unlock = 0;
  if (ioctl(master.get(), TIOCSPTLCK, &unlock) != 0) return Error::sys(errno, "unlock pty (TIOCSPTLCK)");
  unsigned int number = 0;
  if (ioctl(master.get(), TIOCGPTN, &number) != 0) return Error::sys(errno, "pty number (TIOCGPTN)");

  Pty pty;
  pty.slave_path = fmt::format("/dev/pts/{}", number);
  // TIOCGPTPEER (4.13) opens the slave through the master, so a path
  // swapped under /dev/pts cannot hand us another terminal.
  int slave = ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    if (errno != EINVAL && errno != ENOTTY) return Error::sys(errno, "open pty slave (TIOCGPTPEER)");
    slave = open(pty.slave_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) return Error::sys(errno, "open {}", pty.slave_path);
  }
  pty.master = std::move(master);
  pty.slave = Fd(slave);
  return pty;
}

Result<void> become_terminal_owner(const Pty& pty, const std::optional<oci::ConsoleSize>& size) {
  // A new session has no controlling terminal, so the slave can become it.
  if (setsid() < 0) return Error::sys(errno, "setsid");
  if (ioctl(pty.slave.get(), TIOCSCTTY, 0) != 0) return Error::sys(errno, "make {} the controlling terminal", pty.slave_path);
  if (size && (size->height != 0 || size->width != 0)) {
    struct winsize ws {};
    ws.ws_row = static_cast<unsigned short>(size->height);
    ws.ws_col = static_cast<unsigned short>(size->width);
    if (ioctl(pty.slave.get(), TIOCSWINSZ, &ws) != 0) return Error::sys(errno, "set the size of {}", pty.slave_path);
  }
  for (int target = 0; target <= 2; ++target) {
    // dup2 leaves the new descriptor without O_CLOEXEC: stdio survives exec.
    // dup2 onto itself changes nothing, so then clear the flag by hand.
    if (pty.slave.get() == target) {
      if (fcntl(target, F_SETFD, 0) != 0) return Error::sys(errno, "clear FD_CLOEXEC on {}", target);
      continue;
    }
    if (dup2(pty.slave.get(), target) < 0) return Error::sys(errno, "dup2 {} onto {}", pty.slave_path, target);
  }
  return ok();
}

}  // namespace berth::runtime
