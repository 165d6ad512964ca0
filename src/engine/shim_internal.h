// Shim's private types, shared by shim.cpp and shim_control.cpp.
#pragma once

#include <string>
#include <vector>

#include "base/fd.h"
#include "engine/shim.h"

namespace berth::engine {

// One process the shim watches over: the container's init ("" id) or an exec.
struct Shim::Proc {
  std::string exec_id;
  pid_t pid = 0;
  bool tty = false;
  bool has_stdin = false;
  bool stdin_once = false;
  bool close_stdin_when_flushed = false;
  Fd master;  // tty: output and stdin
  Fd out;     // no tty: read ends of stdout/stderr, write end of stdin
  Fd err;
  Fd in;
  std::string stdin_pending;
  std::string early;  // exec output before the first attach
  bool attached_once = false;
  bool exited = false;
  ExitRecord exit;
  std::vector<int> waiters;  // control connections waiting for the exit
};

struct Shim::Watch {
  enum Kind { Signal, Listen, Control, Attach, Out, Err, Master, Stdin } kind = Signal;
  std::string proc;
};

struct Shim::Conn {
  Fd fd;
  std::string in;
};

// The shim's end of an attach socketpair.
struct Shim::Attach {
  Fd fd;
  std::string proc;
  std::string pending;  // output the client has not taken yet
  bool reading = true;  // until the client half-closes
  bool closing = false; // the process exited: close once pending is sent
};

struct Shim::ProcIo {
  std::string console_path;
  Fd console_listen;
  Fd child_in;
  Fd child_out;
  Fd child_err;
};

}  // namespace berth::engine
