// Small integer ids for native objects that JavaScript holds across threads: an
// accept loop or a relay is created on the main thread, run on a worker thread and
// stopped from the main thread, each call naming it by id. Shared by the server and
// relay addons.
#ifndef SKBOX_COMMON_HANDLE_TABLE_H
#define SKBOX_COMMON_HANDLE_TABLE_H

#include <napi.h>

#include <map>
#include <mutex>
#include <string>

namespace skbox_napi {

template <typename T>
class HandleTable {
 public:
  // what names the objects in errors: "no such loop 7".
  explicit HandleTable(const char *what) : what_(what) {}

  // Takes item; returns its id (1, 2, ...; never reused).
  int Add(T *item) {
    std::lock_guard<std::mutex> lock(mutex_);
    int id = next_id_++;
    items_[id] = item;
    return id;
  }

  // The item with this id; throws when there is none.
  T *Find(Napi::Env env, int id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = items_.find(id);
    if (it == items_.end()) throw Napi::Error::New(env, "no such " + std::string(what_) + " " + std::to_string(id));
    return it->second;
  }

  // Removes the item and hands it back to the caller to release; nullptr when there is none.
  T *Take(int id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = items_.find(id);
    if (it == items_.end()) return nullptr;
    T *item = it->second;
    items_.erase(it);
    return item;
  }

 private:
  const char *what_;
  std::mutex mutex_;
  std::map<int, T *> items_;
  int next_id_ = 1;
};

}  // namespace skbox_napi

#endif
