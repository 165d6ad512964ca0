#include "sys/prefault.h"

#include <link.h>
#include <malloc.h>
#include <sys/mman.h>
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

void populate(std::uintptr_t from, std::uintptr_t to, int advice) {
  from &= ~(kPage - 1);
  to = (to + kPage - 1) & ~(kPage - 1);
  if (to > from) (void)::madvise(reinterpret_cast<void*>(from), to - from, advice);
}

}  // namespace

void prefault_image() {
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void*) -> int {
        // The first object is the executable itself; a static binary has
        // only that (and the vDSO, which needs nothing).
        std::uintptr_t relro_from = 0, relro_to = 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type == PT_GNU_RELRO) {
            relro_from = info->dlpi_addr + ph.p_vaddr;
            relro_to = relro_from + ph.p_memsz;
          }
        }
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          std::uintptr_t from = info->dlpi_addr + ph.p_vaddr, to = from + ph.p_memsz;
          if (!(ph.p_flags & PF_W)) {
            populate(from, to, MADV_POPULATE_READ);
            continue;
          }
          // The part made read-only after relocation cannot be populated
          // for writing; it is only read from here on.
          if (relro_to > from && relro_from < to) {
            populate(from, relro_to, MADV_POPULATE_READ);
            from = (relro_to + kPage - 1) & ~(kPage - 1);
          }
          populate(from, to, MADV_POPULATE_WRITE);
        }
        return 1;
      },
      nullptr);
}

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
