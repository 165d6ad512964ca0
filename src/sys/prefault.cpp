#include "sys/prefault.h"

#include <link.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace berth::sys {

namespace {

constexpr std::uintptr_t kPage = 4096;

__attribute__((no_stack_protector)) void populate(std::uintptr_t from, std::uintptr_t to, int advice) {
  from &= ~(kPage - 1);
  to = (to + kPage - 1) & ~(kPage - 1);
  if (to <= from) return;
  // The system call itself, not libc's wrapper: at the entry point there is
  // no thread pointer yet for the wrapper's errno.
#if defined(__x86_64__)
  long ret;
  asm volatile("syscall"
               : "=a"(ret)
               : "0"(long{SYS_madvise}), "D"(from), "S"(to - from), "d"(long{advice})
               : "rcx", "r11", "memory");
  (void)ret;
#else
  (void)::madvise(reinterpret_cast<void*>(from), to - from, advice);
#endif
}

}  // namespace

// The executable's own ELF header, placed by the linker.
extern "C" const ElfW(Ehdr) __ehdr_start;

__attribute__((no_stack_protector)) void prefault_image() {
  // Only the executable: a static binary has nothing else that its start
  // needs (the vDSO is mapped already).
  const char* base = reinterpret_cast<const char*>(&__ehdr_start);
  const auto* phdr = reinterpret_cast<const ElfW(Phdr)*>(base + __ehdr_start.e_phoff);
  const int count = __ehdr_start.e_phnum;
  std::uintptr_t bias = 0, relro_from = 0, relro_to = 0;
  for (int i = 0; i < count; ++i) {
    // The segment that maps the header says where the image was loaded.
    if (phdr[i].p_type == PT_LOAD && phdr[i].p_offset == 0)
      bias = reinterpret_cast<std::uintptr_t>(base) - phdr[i].p_vaddr;
  }
  for (int i = 0; i < count; ++i)
    if (phdr[i].p_type == PT_GNU_RELRO) {
      relro_from = bias + phdr[i].p_vaddr;
      relro_to = relro_from + phdr[i].p_memsz;
    }
  for (int i = 0; i < count; ++i) {
    const auto& ph = phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    std::uintptr_t from = bias + ph.p_vaddr, to = from + ph.p_memsz;
    if (!(ph.p_flags & PF_W)) {
      populate(from, to, MADV_POPULATE_READ);
      continue;
    }
    // The part made read-only after relocation cannot be populated for
    // writing once it is; it is only read from then on.
    if (relro_to > from && relro_from < to) {
      populate(from, relro_to, MADV_POPULATE_READ);
      from = (relro_to + kPage - 1) & ~(kPage - 1);
    }
    populate(from, to, MADV_POPULATE_WRITE);
  }
}

#if defined(__x86_64__)
// The entry point of a program linked with -e berth_prefault_entry: the
// image prefaulted on the kernel's stack, then glibc's _start with the
// registers and stack the kernel gave (the stack pointer and %rdx, kept in
// callee-saved registers across the call).
asm(R"(
  .text
  .globl berth_prefault_entry
  .type berth_prefault_entry, @function
berth_prefault_entry:
  mov %rsp, %r12
  mov %rdx, %r13
  and $-16, %rsp
  call _ZN5berth3sys14prefault_imageEv
  mov %r12, %rsp
  mov %r13, %rdx
  jmp _start
  .size berth_prefault_entry, .-berth_prefault_entry
)");
#endif

void prefault_heap(std::size_t bytes) {
  // Grow the main arena to `bytes` at once and map it in one call. Blocks
  // up to 1 MiB come from the arena rather than from mmap (each mmap is a
  // fresh run of faults), and freeing does not give the arena back.
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 8 << 20);
  void* first = std::malloc(1);
  void* grow = std::malloc(bytes);
  asm volatile("" : : "r"(grow) : "memory");  // the pair must not be folded away
  std::free(grow);
  populate(reinterpret_cast<std::uintptr_t>(first), reinterpret_cast<std::uintptr_t>(::sbrk(0)),
           MADV_POPULATE_WRITE);
  std::free(first);
}

}  // namespace berth::sys
