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
  static void Deliver(Napi::Env env, Napi::Function cb, Job *j);
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
  // One, counted until JS returns from it. Node's thread-safe-function dispatcher
  // keeps calling JS, up to 1000 times per loop turn, while it finds items queued
  // or queued during the call; a reader that refills the queue while JS is slower
  // than the kernel (a slow machine, a busy host) then starves timers and signal
  // handlers: SIGTERM went unanswered for minutes and the shutdown deadline never
  // fired. With nothing queued while JS works, every batch is its own loop turn.
  static constexpr int kMaxInFlight = 1;
  // While that batch is in JS the reader keeps draining the kernel ring into the next batch, up
  // to this many records (then it stops and the kernel counts drops). Without it a busy host's
  // sampler lost whole stretches of time while JS worked — 999 Hz shares off by 10 pp.
  static constexpr size_t kMaxPendingRecords = 32768;
};

}  // namespace hotspan
