// Start-up page faults, taken in bulk.
//
// A short-lived program such as the berth CLI touches most of its binary
// and a few hundred KiB of heap in its few milliseconds of life. Taken one
// fault at a time that is ~100 faults, and on a virtual machine a fault can
// cost 20-80 us: more than the work itself. prefault_image() maps the
// binary's loaded segments with one madvise(MADV_POPULATE_READ/WRITE) each
// (Linux 5.14; silently nothing on older kernels), and prefault_heap(bytes)
// makes malloc's first arena that large and maps it the same way.
//
// prefault_image() reads the program headers through the linker's
// __ehdr_start and makes the system calls itself, so that it can run at the
// ELF entry point, before libc's start (which alone took some thirty faults
// on the way to main): a static program linked with
// `-Wl,-e,berth_prefault_entry` (x86-64) enters there, is prefaulted, and
// goes on to glibc's _start with the kernel's stack and registers.
#pragma once

#include <cstddef>

namespace berth::sys {

void prefault_image();
void prefault_heap(std::size_t bytes);

}  // namespace berth::sys
