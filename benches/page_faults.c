/* How long fresh memory takes to fault in, in small (4 KiB) pages and in transparent
 * huge pages: the measurement behind src/allocator.rs. Each size is mapped, touched
 * once per 4 KiB, unmapped and mapped again (the second time the pages come warm).
 * Run through benches/page_faults.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static double touch(size_t bytes, int huge) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  if (huge) madvise(p, bytes, MADV_HUGEPAGE);
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
  clock_gettime(CLOCK_MONOTONIC, &b);
  munmap(p, bytes);
  return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

int main(int argc, char **argv) {
  size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 1600;
  int huge = argc > 2 ? atoi(argv[2]) : 0;
  double first = touch(mb << 20, huge);
  double again = touch(mb << 20, huge);
  printf("%zu MB in %s pages: %.3f s fresh, %.3f s again\n", mb, huge ? "huge" : "small",
         first, again);
  return 0;
}
