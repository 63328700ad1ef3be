// Drains one BPF ring buffer on its own thread and hands records to JS in
// batches: one event-loop crossing per batch, never per record, and never a
// blocking call on the event loop.
#pragma once
#include <napi.h>
#include <bpf/libbpf.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hotspan {

class RingReader {
 public:
  // Throws a JS error if the ring buffer cannot be set up.
  RingReader(Napi::Env env, int map_fd, Napi::Function on_batch, int flush_interval_ms);
  ~RingReader();
  void Stop();
  uint64_t records() const { return records_.load(); }
  uint64_t batches() const { return batches_.load(); }
  uint64_t stalls() const { return stalls_.load(); }

 private:
  using Batch = std::vector<std::string>;
  // A batch on its way to the event loop. It shares the in-flight counter rather
  // than pointing into the reader: the reader may be gone before the job runs.
  struct Job {
    Batch *batch;
    std::shared_ptr<std::atomic<int>> in_flight;
  };
  static int OnRecord(void *ctx, void *data, size_t size);
  void Loop();
  void Flush();

  ring_buffer *rb_ = nullptr;
  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  // Wakes the reader out of its batching wait at once on Stop().
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopped_ = false;
  Batch *pending_ = nullptr;
  std::chrono::milliseconds flush_interval_;
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> batches_{0};
  // Batches handed to the event loop and not yet delivered. When JS falls behind,
  // the reader stops draining so the kernel's ring buffer fills and the BPF side
  // counts the drops, instead of this process buffering without bound.
  std::shared_ptr<std::atomic<int>> in_flight_ = std::make_shared<std::atomic<int>>(0);
  std::atomic<uint64_t> stalls_{0};
  static constexpr int kMaxInFlight = 16;
};

}  // namespace hotspan
