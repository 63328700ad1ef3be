#include "ring_reader.h"

#include "errors.h"

namespace hotspan {

RingReader::RingReader(Napi::Env env, int map_fd, Napi::Function on_batch,
                       int flush_interval_ms)
    : env_(env), flush_interval_(flush_interval_ms) {
  BeginLogCapture();
  rb_ = ring_buffer__new(map_fd, OnRecord, this, nullptr);
  std::string log = EndLogCapture();
  if (!rb_) throw MakeError(env, "ERINGBUF", "ring_buffer__new", errno, log);
  pending_ = new Batch();
  tsfn_ = Napi::ThreadSafeFunction::New(env, on_batch, "hotspan-ring-reader", 0, 1);
  cleanup_hook_ = napi_add_env_cleanup_hook(env_, OnEnvCleanup, this) == napi_ok;
  thread_ = std::thread([this] { Loop(); });
}

RingReader::~RingReader() {
  Stop();
  if (cleanup_hook_) napi_remove_env_cleanup_hook(env_, OnEnvCleanup, this);
}

void RingReader::OnEnvCleanup(void *self) {
  auto *r = static_cast<RingReader *>(self);
  r->cleanup_hook_ = false;  // node drops a hook once it has run
  r->Stop();
}

int RingReader::OnRecord(void *ctx, void *data, size_t size) {
  auto *self = static_cast<RingReader *>(ctx);
  self->pending_->emplace_back(static_cast<const char *>(data), size);
  self->records_++;
  // A negative return would abort ring_buffer__poll with an error; batches are
  // bounded by the flush interval instead.
  return 0;
}

// Runs on the event loop. A Job without a batch is the end marker Stop() queues behind
// every batch: JS gets null, meaning nothing more will come.
void RingReader::Deliver(Napi::Env env, Napi::Function cb, Job *j) {
  Batch *b = j->batch;
  auto in_flight = j->in_flight;
  delete j;
  if (env == nullptr || cb.IsEmpty()) {  // the environment is shutting down: drop the batch
    if (b) (*in_flight)--;
    delete b;
    return;
  }
  Napi::Value arg = env.Null();
  if (b) {
    Napi::Array arr = Napi::Array::New(env, b->size());
    for (size_t i = 0; i < b->size(); i++)
      arr.Set(i, Napi::Buffer<char>::Copy(env, (*b)[i].data(), (*b)[i].size()));
    delete b;
    arg = arr;
  }
  // A throwing consumer must not unwind a C++ exception through libuv (std::terminate):
  // hand it back to JS as the uncaught exception it is.
  try {
    cb.Call({arg});
  } catch (const Napi::Error &e) {
    e.ThrowAsJavaScriptException();
  }
  // Counted as in flight until JS returns: the reader queues nothing while JS runs, so
  // Node's dispatcher (which keeps going while items arrive during the call) ends its
  // turn here and timers and signal handlers run before the next batch.
  if (b) (*in_flight)--;
}

void RingReader::Flush() {
  if (pending_->empty()) return;
  Batch *batch = pending_;
  pending_ = new Batch();
  batches_++;
  (*in_flight_)++;
  auto *job = new Job{batch, in_flight_};
  napi_status st = tsfn_.NonBlockingCall(job, Deliver);
  if (st != napi_ok) {  // closing: JS no longer wants records
    (*in_flight_)--;
    delete batch;
    delete job;
  }
}

void RingReader::Loop() {
  while (!stop_.load()) {
    const bool busy = in_flight_->load() >= kMaxInFlight;
    if (busy && pending_->size() >= kMaxPendingRecords) {
      stalls_++;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    // JS still holds the last batch: keep the kernel ring drained into the next one.
    int n = ring_buffer__poll(rb_, busy ? 10 : 200);
    if (n < 0 && n != -EINTR) break;
    if (busy || pending_->empty()) continue;
    // Let more records accumulate before crossing into JS, unless the batch is full.
    // One timed wait, not a polling sleep: the thread wakes once per batch.
    {
      std::unique_lock<std::mutex> lk(stop_mu_);
      stop_cv_.wait_for(lk, flush_interval_, [this] { return stop_.load(); });
    }
    ring_buffer__consume(rb_);
    Flush();
  }
  ring_buffer__consume(rb_);
  Flush();
}

void RingReader::Stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard<std::mutex> lk(stop_mu_);
    stop_.store(true);
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Behind the thread's last batch (calls are delivered in order): tells JS it has them all.
  auto *end = new Job{nullptr, in_flight_};
  if (tsfn_.NonBlockingCall(end, Deliver) != napi_ok) delete end;
  tsfn_.Release();
  ring_buffer__free(rb_);
  rb_ = nullptr;
  delete pending_;
  pending_ = nullptr;
}

}  // namespace hotspan
