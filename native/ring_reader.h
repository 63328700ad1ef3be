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
  // Stops the thread when the JS environment is torn down before the reader is closed
  // (natural exit, worker exit): it must be joined while its thread-safe function is still
  // valid. Registered after the tsfn's own hook, so it runs before it (hooks run in reverse).
  static void OnEnvCleanup(void *self);
  napi_env env_;
  bool cleanup_hook_ = false;
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
  // Batches handed to the event loop and not yet picked up. When JS falls behind,
  // the reader stops draining so the kernel's ring buffer fills and the BPF side
  // counts the drops, instead of this process buffering without bound.
  std::shared_ptr<std::atomic<int>> in_flight_ = std::make_shared<std::atomic<int>>(0);
  std::atomic<uint64_t> stalls_{0};
  // One: Node's thread-safe-function dispatcher keeps calling JS for as long as it
  // finds more than one item queued (up to 1000 per loop turn), and a reader that
  // refills the queue while JS is slower than the kernel (a slow machine, a hot host)
  // then starves timers and signal handlers: SIGTERM went unanswered for minutes and
  // the shutdown deadline never fired. With at most one batch queued, every batch is
  // its own loop turn; the next one is read while JS works on this one.
  static constexpr int kMaxInFlight = 1;
};

}  // namespace hotspan
