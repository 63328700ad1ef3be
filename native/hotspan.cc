// hotspan's native addon: a thin shim over libbpf. It opens and loads BPF
// objects, attaches programs (perf events, tracepoints, uprobes), drains ring
// buffers off the event loop, and reads/writes maps. No parsing, no policy:
// everything else lives in TypeScript (src/bpf/).
#include <napi.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "errors.h"
#include "ring_reader.h"

namespace hotspan {
void RegisterWorkloadOpen(Napi::Env env, Napi::Object exports);
namespace {

// Writes a JS number/bigint into `size` little-endian bytes.
bool WriteScalar(Napi::Value v, void *dst, size_t size) {
  uint64_t x;
  if (v.IsBigInt()) {
    bool lossless;
    x = v.As<Napi::BigInt>().Uint64Value(&lossless);
  } else if (v.IsNumber()) {
    x = static_cast<uint64_t>(v.As<Napi::Number>().Int64Value());
  } else if (v.IsBoolean()) {
    x = v.As<Napi::Boolean>().Value() ? 1 : 0;
  } else {
    return false;
  }
  switch (size) {
    case 1: { uint8_t y = x; memcpy(dst, &y, 1); return true; }
    case 2: { uint16_t y = x; memcpy(dst, &y, 2); return true; }
    case 4: { uint32_t y = x; memcpy(dst, &y, 4); return true; }
    case 8: memcpy(dst, &x, 8); return true;
  }
  return false;
}

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "BpfObject", {
      InstanceMethod("setAutoload", &BpfObject::SetAutoload),
      InstanceMethod("setMaxEntries", &BpfObject::SetMaxEntries),
      InstanceMethod("load", &BpfObject::Load),
      InstanceMethod("attachPerfEvent", &BpfObject::AttachPerfEvent),
      InstanceMethod("attachTracepoint", &BpfObject::AttachTracepoint),
      InstanceMethod("attachUprobe", &BpfObject::AttachUprobe),
      InstanceMethod("detach", &BpfObject::Detach),
      InstanceMethod("openRingBuffer", &BpfObject::OpenRingBuffer),
      InstanceMethod("closeRingBuffer", &BpfObject::CloseRingBuffer),
      InstanceMethod("ringBufferStats", &BpfObject::RingBufferStats),
      InstanceMethod("mapInfo", &BpfObject::MapInfo),
      InstanceMethod("mapLookup", &BpfObject::MapLookup),
      InstanceMethod("mapUpdate", &BpfObject::MapUpdate),
      InstanceMethod("mapDelete", &BpfObject::MapDelete),
      InstanceMethod("mapKeys", &BpfObject::MapKeys),
      InstanceMethod("programs", &BpfObject::Programs),
      InstanceMethod("loadedPrograms", &BpfObject::LoadedPrograms),
      InstanceMethod("programStats", &BpfObject::ProgramStats),
      InstanceMethod("close", &BpfObject::Close),
    });
  }

  // new BpfObject(path): opens (parses) the object; load() is separate so
  // read-only tunables can be set in between.
  BpfObject(const Napi::CallbackInfo &info) : Napi::ObjectWrap<BpfObject>(info) {
    Napi::Env env = info.Env();
    std::string path = info[0].As<Napi::String>();
    BeginLogCapture();
    obj_ = bpf_object__open_file(path.c_str(), nullptr);
    int err = libbpf_get_error(obj_);
    std::string log = EndLogCapture();
    if (err || !obj_) {
      obj_ = nullptr;
      throw MakeError(env, "EOPEN", "bpf_object__open_file(" + path + ")", err ? err : errno, log);
    }
  }

  ~BpfObject() override { Teardown(); }

 private:
  bpf_object *Obj(Napi::Env env) {
    if (!obj_) throw MakeError(env, "ECLOSED", "BpfObject", EBADF, "object is closed");
    return obj_;
  }

  bpf_program *Prog(Napi::Env env, const std::string &name) {
    bpf_program *p = bpf_object__find_program_by_name(Obj(env), name.c_str());
    if (!p) throw MakeError(env, "ENOPROG", "find program " + name, ENOENT);
    return p;
  }

  bpf_map *Map(Napi::Env env, const std::string &name) {
    bpf_map *m = bpf_object__find_map_by_name(Obj(env), name.c_str());
    if (!m) throw MakeError(env, "ENOMAP", "find map " + name, ENOENT);
    return m;
  }

  int MapFd(Napi::Env env, const std::string &name) {
    int fd = bpf_map__fd(Map(env, name));
    if (fd < 0) throw MakeError(env, "ENOTLOADED", "map " + name, EBADF, "object not loaded");
    return fd;
  }

  // Per-CPU maps hold one value per possible CPU, each padded to 8 bytes.
  size_t ValueBytes(bpf_map *m) {
    size_t vs = bpf_map__value_size(m);
    switch (bpf_map__type(m)) {
      case BPF_MAP_TYPE_PERCPU_ARRAY:
      case BPF_MAP_TYPE_PERCPU_HASH:
      case BPF_MAP_TYPE_LRU_PERCPU_HASH:
        return ((vs + 7) & ~size_t(7)) * libbpf_num_possible_cpus();
      default:
        return vs;
    }
  }

  int NewLinkId(std::vector<bpf_link *> links) {
    int id = next_link_id_++;
    links_[id] = std::move(links);
    return id;
  }

  // setAutoload(prog, enabled): before load(), leaves a program out of the load (its hook or a
  // helper it calls is missing on this kernel). Which ones is decided in TypeScript.
  Napi::Value SetAutoload(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::string name = info[0].As<Napi::String>();
    int err = bpf_program__set_autoload(Prog(env, name), info[1].ToBoolean().Value());
    if (err) throw MakeError(env, "EAUTOLOAD", "set autoload of " + name, -err, "the object is already loaded");
    return env.Undefined();
  }

  // setMaxEntries(map, n): before load(), resizes a map (for a ring buffer: its bytes, a power of
  // two the kernel checks at creation). Which size is decided in TypeScript.
  Napi::Value SetMaxEntries(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::string name = info[0].As<Napi::String>();
    uint32_t n = info[1].As<Napi::Number>().Uint32Value();
    int err = bpf_map__set_max_entries(Map(env, name), n);
    if (err) throw MakeError(env, "EMAXENTRIES", "set max entries of " + name, -err, "the object is already loaded");
    return env.Undefined();
  }

  // load(rodata?: { [name]: number | bigint | boolean }): sets `const volatile`
  // globals in .rodata by name (located through BTF), then loads into the kernel.
  Napi::Value Load(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    bpf_object *obj = Obj(env);
    if (info.Length() > 0 && info[0].IsObject()) {
      Napi::Object vars = info[0].As<Napi::Object>();
      Napi::Array names = vars.GetPropertyNames();
      for (uint32_t i = 0; i < names.Length(); i++) {
        std::string name = names.Get(i).As<Napi::String>();
        SetRodata(env, obj, name, vars.Get(name));
      }
    }
    BeginLogCapture();
    int err = bpf_object__load(obj);
    std::string log = EndLogCapture();
    if (err) throw MakeError(env, "ELOAD", "bpf_object__load", err, log);
    return env.Undefined();
  }

  void SetRodata(Napi::Env env, bpf_object *obj, const std::string &name, Napi::Value v) {
    const btf *b = bpf_object__btf(obj);
    if (!b) throw MakeError(env, "ENOBTF", "set " + name, ENOENT, "object has no BTF");
    bpf_map *rodata = nullptr, *m;
    bpf_object__for_each_map(m, obj) {
      const char *mn = bpf_map__name(m);
      size_t len = strlen(mn);
      if (len >= 7 && strcmp(mn + len - 7, ".rodata") == 0) rodata = m;
    }
    int sec_id = btf__find_by_name_kind(b, ".rodata", BTF_KIND_DATASEC);
    if (!rodata || sec_id < 0)
      throw MakeError(env, "ENOVAR", "set " + name, ENOENT, "object has no .rodata section");
    const btf_type *sec = btf__type_by_id(b, sec_id);
    const btf_var_secinfo *vsi = btf_var_secinfos(sec);
    for (int i = 0; i < btf_vlen(sec); i++, vsi++) {
      const btf_type *var = btf__type_by_id(b, vsi->type);
      if (name != btf__name_by_offset(b, var->name_off)) continue;
      size_t size = 0;
      const void *init = bpf_map__initial_value(rodata, &size);
      std::vector<char> data(static_cast<const char *>(init), static_cast<const char *>(init) + size);
      if (!init || vsi->offset + vsi->size > size || !WriteScalar(v, data.data() + vsi->offset, vsi->size))
        throw MakeError(env, "EBADVAR", "set " + name, EINVAL,
                        "value does not fit a " + std::to_string(vsi->size) + "-byte variable");
      int err = bpf_map__set_initial_value(rodata, data.data(), data.size());
      if (err) throw MakeError(env, "EBADVAR", "set " + name, err);
      return;
    }
    throw MakeError(env, "ENOVAR", "set " + name, ENOENT, "no const volatile variable named " + name);
  }

  // attachPerfEvent(prog, { type, config, frequency?, period?, cpus: number[] }) -> link id.
  // One perf event per CPU (pid -1: every process on that CPU).
  Napi::Value AttachPerfEvent(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    bpf_program *prog = Prog(env, info[0].As<Napi::String>());
    Napi::Object o = info[1].As<Napi::Object>();
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = o.Get("type").As<Napi::Number>().Uint32Value();
    attr.config = o.Get("config").As<Napi::Number>().Int64Value();
    if (o.Has("frequency") && o.Get("frequency").IsNumber()) {
      attr.freq = 1;
      attr.sample_freq = o.Get("frequency").As<Napi::Number>().Int64Value();
    } else {
      attr.sample_period = o.Get("period").As<Napi::Number>().Int64Value();
    }
    Napi::Array cpus = o.Get("cpus").As<Napi::Array>();
    std::vector<bpf_link *> links;
    for (uint32_t i = 0; i < cpus.Length(); i++) {
      int cpu = cpus.Get(i).As<Napi::Number>().Int32Value();
      int fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
      if (fd < 0) {
        int e = errno;
        for (auto *l : links) bpf_link__destroy(l);
        throw MakeError(env, "EPERFEVENT", "perf_event_open(cpu " + std::to_string(cpu) + ")", e);
      }
      BeginLogCapture();
      bpf_link *l = bpf_program__attach_perf_event(prog, fd);
      int err = libbpf_get_error(l);
      std::string log = EndLogCapture();
      if (err) {
        close(fd);
        for (auto *x : links) bpf_link__destroy(x);
        throw MakeError(env, "EATTACH", "attach perf_event(cpu " + std::to_string(cpu) + ")", err, log);
      }
      links.push_back(l);  // the link owns fd from here on
    }
    return Napi::Number::New(env, NewLinkId(std::move(links)));
  }

  // attachTracepoint(prog, category, name) -> link id.
  Napi::Value AttachTracepoint(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    bpf_program *prog = Prog(env, info[0].As<Napi::String>());
    std::string cat = info[1].As<Napi::String>(), name = info[2].As<Napi::String>();
    BeginLogCapture();
    bpf_link *l = bpf_program__attach_tracepoint(prog, cat.c_str(), name.c_str());
    int err = libbpf_get_error(l);
    std::string log = EndLogCapture();
    if (err) throw MakeError(env, "EATTACH", "attach tracepoint " + cat + ":" + name, err, log);
    return Napi::Number::New(env, NewLinkId({l}));
  }

  // attachUprobe(prog, { path, offset, pid?, retprobe? }) -> link id.
  // `offset` is the file offset of the probed instruction (TS resolves symbols).
  Napi::Value AttachUprobe(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    bpf_program *prog = Prog(env, info[0].As<Napi::String>());
    Napi::Object o = info[1].As<Napi::Object>();
    std::string path = o.Get("path").As<Napi::String>();
    bool lossless;
    uint64_t offset = o.Get("offset").IsBigInt()
                          ? o.Get("offset").As<Napi::BigInt>().Uint64Value(&lossless)
                          : o.Get("offset").As<Napi::Number>().Int64Value();
    int pid = o.Has("pid") && o.Get("pid").IsNumber() ? o.Get("pid").As<Napi::Number>().Int32Value() : -1;
    LIBBPF_OPTS(bpf_uprobe_opts, opts);
    opts.retprobe = o.Has("retprobe") && o.Get("retprobe").ToBoolean().Value();
    BeginLogCapture();
    bpf_link *l = bpf_program__attach_uprobe_opts(prog, pid, path.c_str(), offset, &opts);
    int err = libbpf_get_error(l);
    std::string log = EndLogCapture();
    if (err) throw MakeError(env, "EATTACH", "attach uprobe " + path, err, log);
    return Napi::Number::New(env, NewLinkId({l}));
  }

  Napi::Value Detach(const Napi::CallbackInfo &info) {
    int id = info[0].As<Napi::Number>().Int32Value();
    auto it = links_.find(id);
    if (it != links_.end()) {
      for (auto *l : it->second) bpf_link__destroy(l);
      links_.erase(it);
    }
    return info.Env().Undefined();
  }

  // openRingBuffer(map, onBatch(records: Buffer[]), flushIntervalMs) -> reader id.
  Napi::Value OpenRingBuffer(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    int fd = MapFd(env, info[0].As<Napi::String>());
    int flush_ms = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 50;
    int id = next_reader_id_++;
    readers_[id] = std::make_unique<RingReader>(env, fd, info[1].As<Napi::Function>(), flush_ms);
    return Napi::Number::New(env, id);
  }

  Napi::Value CloseRingBuffer(const Napi::CallbackInfo &info) {
    readers_.erase(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  }

  Napi::Value RingBufferStats(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    auto it = readers_.find(info[0].As<Napi::Number>().Int32Value());
    if (it == readers_.end()) return env.Undefined();
    Napi::Object o = Napi::Object::New(env);
    o.Set("records", Napi::Number::New(env, it->second->records()));
    o.Set("batches", Napi::Number::New(env, it->second->batches()));
    o.Set("stalls", Napi::Number::New(env, it->second->stalls()));
    return o;
  }

  Napi::Value MapInfo(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    bpf_map *m = Map(env, info[0].As<Napi::String>());
    Napi::Object o = Napi::Object::New(env);
    o.Set("type", Napi::Number::New(env, bpf_map__type(m)));
    o.Set("keySize", Napi::Number::New(env, bpf_map__key_size(m)));
    o.Set("valueSize", Napi::Number::New(env, bpf_map__value_size(m)));
    o.Set("valueBytes", Napi::Number::New(env, ValueBytes(m)));
    o.Set("maxEntries", Napi::Number::New(env, bpf_map__max_entries(m)));
    o.Set("possibleCpus", Napi::Number::New(env, libbpf_num_possible_cpus()));
    return o;
  }

  // mapLookup(map, key: Buffer) -> Buffer | null. Per-CPU maps return every CPU's value.
  Napi::Value MapLookup(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::string name = info[0].As<Napi::String>();
    int fd = MapFd(env, name);
    auto key = info[1].As<Napi::Buffer<uint8_t>>();
    std::vector<uint8_t> val(ValueBytes(Map(env, name)));
    if (bpf_map_lookup_elem(fd, key.Data(), val.data()) != 0) {
      if (errno == ENOENT) return env.Null();
      throw MakeError(env, "EMAP", "lookup " + name, errno);
    }
    return Napi::Buffer<uint8_t>::Copy(env, val.data(), val.size());
  }

  Napi::Value MapUpdate(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::string name = info[0].As<Napi::String>();
    int fd = MapFd(env, name);
    auto key = info[1].As<Napi::Buffer<uint8_t>>();
    auto val = info[2].As<Napi::Buffer<uint8_t>>();
    if (val.Length() != ValueBytes(Map(env, name)))
      throw MakeError(env, "EMAP", "update " + name, EINVAL, "value has the wrong size");
    uint64_t flags = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Int64Value() : uint64_t(BPF_ANY);
    if (bpf_map_update_elem(fd, key.Data(), val.Data(), flags) != 0)
      throw MakeError(env, "EMAP", "update " + name, errno);
    return env.Undefined();
  }

  Napi::Value MapDelete(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::string name = info[0].As<Napi::String>();
    int fd = MapFd(env, name);
    auto key = info[1].As<Napi::Buffer<uint8_t>>();
    if (bpf_map_delete_elem(fd, key.Data()) != 0) {
      if (errno == ENOENT) return Napi::Boolean::New(env, false);
      throw MakeError(env, "EMAP", "delete " + name, errno);
    }
    return Napi::Boolean::New(env, true);
  }

  // mapKeys(map) -> Buffer[] (snapshot; entries may change while iterating).
  Napi::Value MapKeys(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::string name = info[0].As<Napi::String>();
    int fd = MapFd(env, name);
    size_t ks = bpf_map__key_size(Map(env, name));
    std::vector<uint8_t> cur(ks), next(ks);
    Napi::Array out = Napi::Array::New(env);
    void *prev = nullptr;
    uint32_t n = 0;
    while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
      out.Set(n++, Napi::Buffer<uint8_t>::Copy(env, next.data(), ks));
      cur.swap(next);
      prev = cur.data();
    }
    return out;
  }

  Napi::Value Programs(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    bpf_program *p;
    uint32_t n = 0;
    bpf_object__for_each_program(p, Obj(env)) out.Set(n++, Napi::String::New(env, bpf_program__name(p)));
    return out;
  }

  // loadedPrograms() -> names of the programs that are in the kernel (autoload on, loaded).
  Napi::Value LoadedPrograms(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    bpf_program *p;
    uint32_t n = 0;
    bpf_object__for_each_program(p, Obj(env)) {
      if (bpf_program__fd(p) >= 0) out.Set(n++, Napi::String::New(env, bpf_program__name(p)));
    }
    return out;
  }

  // programStats(prog) -> { id, runTimeNs, runCount } (run time needs kernel.bpf_stats_enabled=1).
  Napi::Value ProgramStats(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    bpf_program *p = Prog(env, info[0].As<Napi::String>());
    bpf_prog_info pi{};
    uint32_t len = sizeof(pi);
    int fd = bpf_program__fd(p);
    if (fd < 0 || bpf_obj_get_info_by_fd(fd, &pi, &len) != 0)
      throw MakeError(env, "EPROGINFO", "bpf_obj_get_info_by_fd", errno);
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", Napi::Number::New(env, pi.id));
    o.Set("runTimeNs", Napi::BigInt::New(env, static_cast<uint64_t>(pi.run_time_ns)));
    o.Set("runCount", Napi::BigInt::New(env, static_cast<uint64_t>(pi.run_cnt)));
    // Instructions the verifier processed (5.16+; 0 before): the complexity budget is 1M.
    o.Set("verifiedInsns", Napi::Number::New(env, pi.verified_insns));
    return o;
  }

  void Teardown() {
    readers_.clear();  // stops reader threads before their maps go away
    for (auto &kv : links_)
      for (auto *l : kv.second) bpf_link__destroy(l);
    links_.clear();
    if (obj_) bpf_object__close(obj_);
    obj_ = nullptr;
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    Teardown();
    return info.Env().Undefined();
  }

  bpf_object *obj_ = nullptr;
  std::map<int, std::vector<bpf_link *>> links_;
  std::map<int, std::unique_ptr<RingReader>> readers_;
  int next_link_id_ = 1;
  int next_reader_id_ = 1;
};

// probeHelper(progType, helperId) / probeMapType(mapType) / probeProgType(progType):
// libbpf's feature probes (each loads a tiny program or creates a tiny map). 1 = supported,
// 0 = not, a negative errno when the probe itself could not run (e.g. no privilege).
Napi::Value ProbeHelper(const Napi::CallbackInfo &info) {
  auto type = static_cast<bpf_prog_type>(info[0].As<Napi::Number>().Uint32Value());
  auto helper = static_cast<bpf_func_id>(info[1].As<Napi::Number>().Uint32Value());
  return Napi::Number::New(info.Env(), libbpf_probe_bpf_helper(type, helper, nullptr));
}

Napi::Value ProbeMapType(const Napi::CallbackInfo &info) {
  auto type = static_cast<bpf_map_type>(info[0].As<Napi::Number>().Uint32Value());
  return Napi::Number::New(info.Env(), libbpf_probe_bpf_map_type(type, nullptr));
}

Napi::Value ProbeProgType(const Napi::CallbackInfo &info) {
  auto type = static_cast<bpf_prog_type>(info[0].As<Napi::Number>().Uint32Value());
  return Napi::Number::New(info.Env(), libbpf_probe_bpf_prog_type(type, nullptr));
}

// The uapi numbers the probes take, from the headers this addon was built with, so that
// TypeScript never copies them by hand.
Napi::Object UapiConstants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  c.Set("BPF_PROG_TYPE_TRACEPOINT", Napi::Number::New(env, BPF_PROG_TYPE_TRACEPOINT));
  c.Set("BPF_PROG_TYPE_PERF_EVENT", Napi::Number::New(env, BPF_PROG_TYPE_PERF_EVENT));
  c.Set("BPF_PROG_TYPE_KPROBE", Napi::Number::New(env, BPF_PROG_TYPE_KPROBE));
  c.Set("BPF_MAP_TYPE_RINGBUF", Napi::Number::New(env, BPF_MAP_TYPE_RINGBUF));
  c.Set("BPF_FUNC_loop", Napi::Number::New(env, BPF_FUNC_loop));
  c.Set("BPF_FUNC_ringbuf_output", Napi::Number::New(env, BPF_FUNC_ringbuf_output));
  c.Set("BPF_FUNC_probe_read_user", Napi::Number::New(env, BPF_FUNC_probe_read_user));
  c.Set("BPF_FUNC_get_stack", Napi::Number::New(env, BPF_FUNC_get_stack));
  return c;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLibbpfLogger();
  exports.Set("BpfObject", BpfObject::Init(env));
  Napi::Object v = Napi::Object::New(env);
  v.Set("major", Napi::Number::New(env, libbpf_major_version()));
  v.Set("minor", Napi::Number::New(env, libbpf_minor_version()));
  exports.Set("libbpfVersion", v);
  exports.Set("probeHelper", Napi::Function::New(env, ProbeHelper));
  exports.Set("probeMapType", Napi::Function::New(env, ProbeMapType));
  exports.Set("probeProgType", Napi::Function::New(env, ProbeProgType));
  exports.Set("uapi", UapiConstants(env));
  RegisterWorkloadOpen(env, exports);  // native/workload_open.cc
  return exports;
}

}  // namespace
}  // namespace hotspan

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return hotspan::Init(env, exports); }
NODE_API_MODULE(hotspan, InitAddon)
