// dbproxyd's operator new and delete: malloc, and a delete that wipes the block before freeing
// it (agent/wiping_heap.hpp says why). Linked into the dbproxyd executable only. new and delete
// are replaced together so that every block the C++ runtime frees came from malloc (what
// WipeAndFree and the sanitizers expect).
#include <algorithm>
#include <cstdlib>
#include <new>

#include "agent/wiping_heap.hpp"

namespace {

void* Allocate(std::size_t size) {
  for (;;) {
    if (void* block = std::malloc(size == 0 ? 1 : size)) return block;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* AllocateAligned(std::size_t size, std::align_val_t alignment) {
  const auto align = static_cast<std::size_t>(alignment);
  const std::size_t rounded = (std::max<std::size_t>(size, 1) + align - 1) / align * align;
  for (;;) {
    if (void* block = std::aligned_alloc(align, rounded)) return block;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

}  // namespace

void* operator new(std::size_t size) { return Allocate(size); }
void* operator new[](std::size_t size) { return Allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return Allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void* operator new(std::size_t size, std::align_val_t alignment) {
  return AllocateAligned(size, alignment);
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
  return AllocateAligned(size, alignment);
}
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  try {
    return AllocateAligned(size, alignment);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, std::align_val_t alignment,
                     const std::nothrow_t& tag) noexcept {
  return operator new(size, alignment, tag);
}

void operator delete(void* block) noexcept { dbproxy::WipeAndFree(block); }
void operator delete[](void* block) noexcept { dbproxy::WipeAndFree(block); }
void operator delete(void* block, std::size_t) noexcept { dbproxy::WipeAndFree(block); }
void operator delete[](void* block, std::size_t) noexcept { dbproxy::WipeAndFree(block); }
void operator delete(void* block, const std::nothrow_t&) noexcept { dbproxy::WipeAndFree(block); }
void operator delete[](void* block, const std::nothrow_t&) noexcept {
  dbproxy::WipeAndFree(block);
}
void operator delete(void* block, std::align_val_t) noexcept { dbproxy::WipeAndFree(block); }
void operator delete[](void* block, std::align_val_t) noexcept { dbproxy::WipeAndFree(block); }
void operator delete(void* block, std::size_t, std::align_val_t) noexcept {
  dbproxy::WipeAndFree(block);
}
void operator delete[](void* block, std::size_t, std::align_val_t) noexcept {
  dbproxy::WipeAndFree(block);
}
void operator delete(void* block, std::align_val_t, const std::nothrow_t&) noexcept {
  dbproxy::WipeAndFree(block);
}
void operator delete[](void* block, std::align_val_t, const std::nothrow_t&) noexcept {
  dbproxy::WipeAndFree(block);
}
