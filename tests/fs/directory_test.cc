// Tests of fs/directory.h over a MemoryDevice with a real journal: the empty
// directory, insert / lookup / remove / replace, name validation, names with
// every legal byte, a randomized model test (std::map) deep enough for index
// splits, forced hash collisions (CONTINUED runs in leaves and index nodes),
// readdir cookies (resume at every cookie, stability across changes),
// persistence through checkpoint and through journal replay, corruption
// detection, and failure atomicity (AppendBlock failing, too few credits).
// Every change runs in its own handle of exactly InsertCredits() /
// kRemoveCredits credits, and the test storage spends AppendCredits() per
// block, so the credit bound is exercised for real.
#include "fs/directory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "journal/journal.h"
#include "pagecache/blockdev/memory_device.h"

namespace foliofs::fs {
namespace {

using format::DirEntry;
using format::FileType;

#if defined(FOLIOFS_SANITIZER_ADDRESS) || defined(FOLIOFS_SANITIZER_THREAD)
constexpr int kScaleDown = 10;
#else
constexpr int kScaleDown = 1;
#endif

constexpr uint64_t kIno = 42;
constexpr uint32_t kSeed = 0x5EED4321;
constexpr uint64_t kJournalStart = 1;
constexpr int kAppendCredits = 3;

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const ::foliofs::Status _s = (expr);                    \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.ToString(); \
  } while (0)

std::array<uint8_t, 16> Uuid() {
  std::array<uint8_t, 16> u{};
  for (int i = 0; i < 16; ++i) u[i] = static_cast<uint8_t>(0x40 + i);
  return u;
}

std::array<uint8_t, 16> HashSeed() {
  std::array<uint8_t, 16> s{};
  for (int i = 0; i < 16; ++i) s[i] = static_cast<uint8_t>(0xA0 ^ (i * 7));
  return s;
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Hands out device blocks from a counter and records the mapping. Every
// AppendBlock spends kAppendCredits credits through revokes of fake block
// numbers (like the real allocator + extent tree + inode would). The n-th
// AppendBlock from now fails when fail_countdown reaches it.
class TestStorage : public DirStorage {
 public:
  TestStorage(uint64_t first, uint64_t end) : next_(first), end_(end) {}
  uint32_t block_count() const override { return static_cast<uint32_t>(map.size()); }
  Result<uint64_t> PhysicalBlock(uint32_t lblk) override {
    if (lblk >= map.size()) return Status::Corrupted("test storage: block unmapped");
    return map[lblk];
  }
  Result<uint64_t> AppendBlock(journal::Handle& handle) override {
    if (fail_countdown > 0 && --fail_countdown == 0) {
      return Status::Error(ENOSPC, "test storage: injected ENOSPC");
    }
    if (next_ >= end_) return Status::Error(ENOSPC, "test storage: full");
    for (int i = 0; i < kAppendCredits; ++i) {
      RETURN_IF_ERROR(handle.Revoke((1ULL << 50) + fake_++));
    }
    map.push_back(next_++);
    return map.back();
  }
  int AppendCredits() const override { return kAppendCredits; }

  std::vector<uint64_t> map;
  int fail_countdown = 0;

 private:
  uint64_t next_, end_;
  uint64_t fake_ = 0;
};

// A device: [0] unused, [1, 1 + journal_blocks) the journal, then directory blocks.
struct Env {
  Env(uint32_t bs, uint64_t journal_blocks, uint64_t dir_area)
      : block_size(bs),
        journal_blocks(journal_blocks),
        storage(kJournalStart + journal_blocks, kJournalStart + journal_blocks + dir_area) {
    auto d = MemoryDevice::Create((kJournalStart + journal_blocks + dir_area) * bs, 512);
    EXPECT_TRUE(d.ok());
    dev = std::shared_ptr<MemoryDevice>(std::move(d).value());
    EXPECT_TRUE(journal::FormatJournal(*dev, kJournalStart, journal_blocks, bs, Uuid()).ok());
    Open();
  }
  void Open() { journal = OpenJournal(*dev); }
  std::unique_ptr<journal::Journal> OpenJournal(MemoryDevice& device) {
    journal::JournalOptions o;
    o.first_block = kJournalStart;
    o.num_blocks = journal_blocks;
    o.block_size = block_size;
    o.uuid = Uuid();
    o.commit_interval = std::chrono::milliseconds(600000);
    auto j = journal::Journal::Open(device, o);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(j).value() : nullptr;
  }
  std::unique_ptr<Directory> Dir() {
    return std::make_unique<Directory>(*journal, storage, kIno, kSeed, HashSeed(), block_size);
  }
  // A new, initialised directory.
  std::unique_ptr<Directory> NewDir() {
    auto dir = Dir();
    auto h = Start(Directory::InitCredits(storage.AppendCredits()));
    EXPECT_TRUE(dir->Init(*h).ok());
    EXPECT_TRUE(h->Stop().ok());
    return dir;
  }
  std::unique_ptr<journal::Handle> Start(int credits) {
    auto h = journal->Start(credits, "directory test");
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? std::move(h).value() : nullptr;
  }

  uint32_t block_size;
  uint64_t journal_blocks;
  std::shared_ptr<MemoryDevice> dev;
  TestStorage storage;
  std::unique_ptr<journal::Journal> journal;
};

int CreditsForDepth(int depth) { return (1 + depth) + (depth + 2) * (1 + kAppendCredits); }

// Tree depth (index levels) derived from InsertCredits().
int Depth(Directory& dir) {
  auto credits = dir.InsertCredits();
  EXPECT_TRUE(credits.ok());
  for (int d = 0; d <= 9; ++d) {
    if (CreditsForDepth(d) == *credits) return d;
  }
  ADD_FAILURE() << "unexpected credits " << *credits;
  return -1;
}

Status Insert(Env& env, Directory& dir, const std::string& name, uint64_t ino,
              FileType type = FileType::kRegular) {
  auto credits = dir.InsertCredits();
  if (!credits.ok()) return credits.status();
  auto h = env.Start(*credits);
  if (!h) return Status::Error(EIO, "no handle");
  const Status s = dir.Insert(*h, name, ino, type);
  const Status stop = h->Stop();
  return s.ok() ? stop : s;
}

Result<DirEntry> Remove(Env& env, Directory& dir, const std::string& name) {
  auto h = env.Start(Directory::kRemoveCredits);
  if (!h) return Status::Error(EIO, "no handle");
  auto r = dir.Remove(*h, name);
  const Status stop = h->Stop();
  if (r.ok() && !stop.ok()) return stop;
  return r;
}

struct Listed {
  DirEntry entry;
  uint64_t cookie;
};

std::vector<Listed> ReadAll(Directory& dir, uint64_t cookie = 0) {
  std::vector<Listed> out;
  const Status s = dir.ReadDir(cookie, [&](const DirEntry& e, uint64_t next) {
    out.push_back(Listed{e, next});
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// Reference model: name → (ino, type).
using Model = std::map<std::string, std::pair<uint64_t, FileType>>;

// The model's entries in (hash, name) order, as ReadDir must list them.
std::vector<std::tuple<uint64_t, std::string>> Ordered(const Model& model,
                                                       const std::function<uint64_t(const std::string&)>& hash) {
  std::vector<std::tuple<uint64_t, std::string>> out;
  for (const auto& [name, target] : model) out.emplace_back(hash(name), name);
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t RealHash(const std::string& name) { return format::NameHash(HashSeed(), Bytes(name)); }

void ExpectListing(Directory& dir, const Model& model,
                   const std::function<uint64_t(const std::string&)>& hash = RealHash) {
  const auto listed = ReadAll(dir);
  const auto expect = Ordered(model, hash);
  ASSERT_EQ(listed.size(), expect.size());
  for (size_t i = 0; i < listed.size(); ++i) {
    const DirEntry& e = listed[i].entry;
    ASSERT_EQ(e.name, std::get<1>(expect[i])) << "at " << i;
    ASSERT_EQ(e.hash, std::get<0>(expect[i]));
    ASSERT_EQ(listed[i].cookie, Directory::Position(e.hash) + 1);
    const auto& target = model.at(e.name);
    ASSERT_EQ(e.ino, target.first);
    ASSERT_EQ(e.type, target.second);
  }
}

void ExpectLookup(Directory& dir, const std::string& name, const Model& model) {
  auto r = dir.Lookup(name);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto it = model.find(name);
  if (it == model.end()) {
    ASSERT_FALSE(r->has_value()) << "found " << name;
    return;
  }
  ASSERT_TRUE(r->has_value()) << "missing " << name;
  EXPECT_EQ((*r)->name, name);
  EXPECT_EQ((*r)->ino, it->second.first);
  EXPECT_EQ((*r)->type, it->second.second);
}

// ---- Basics ----------------------------------------------------------------------

TEST(DirectoryTest, EmptyDirectory) {
  Env env(4096, 256, 64);
  auto dir = env.NewDir();
  EXPECT_EQ(env.storage.block_count(), 1u);
  auto r = dir->Lookup("anything");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  auto empty = dir->IsEmpty();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(*empty);
  EXPECT_TRUE(ReadAll(*dir).empty());
  EXPECT_EQ(Depth(*dir), 0);
  ASSERT_OK(dir->Check());
  // Init refuses a directory that already has blocks.
  auto h = env.Start(Directory::InitCredits(kAppendCredits));
  EXPECT_EQ(dir->Init(*h).err(), EEXIST);
  ASSERT_OK(h->Stop());
}

TEST(DirectoryTest, InsertLookupRemoveReplace) {
  Env env(4096, 256, 64);
  auto dir = env.NewDir();
  ASSERT_OK(Insert(env, *dir, "hello", 100, FileType::kRegular));
  ASSERT_OK(Insert(env, *dir, "sub", 101, FileType::kDirectory));
  ASSERT_OK(Insert(env, *dir, "link", 102, FileType::kSymlink));
  auto r = dir->Lookup("sub");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->ino, 101u);
  EXPECT_EQ((*r)->type, FileType::kDirectory);
  EXPECT_EQ((*r)->hash, RealHash("sub"));
  EXPECT_FALSE(*dir->IsEmpty());

  ASSERT_OK([&] {
    auto h = env.Start(Directory::kReplaceCredits);
    const Status s = dir->Replace(*h, "hello", 200, FileType::kFifo);
    const Status stop = h->Stop();
    return s.ok() ? stop : s;
  }());
  r = dir->Lookup("hello");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->ino, 200u);
  EXPECT_EQ((*r)->type, FileType::kFifo);

  auto removed = Remove(env, *dir, "link");
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(removed->ino, 102u);
  EXPECT_EQ(removed->name, "link");
  EXPECT_EQ(removed->type, FileType::kSymlink);
  r = dir->Lookup("link");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  ASSERT_EQ(ReadAll(*dir).size(), 2u);
  ASSERT_TRUE(Remove(env, *dir, "hello").ok());
  ASSERT_TRUE(Remove(env, *dir, "sub").ok());
  EXPECT_TRUE(*dir->IsEmpty());
  ASSERT_OK(dir->Check());
}

TEST(DirectoryTest, ErrorsForBadNamesAndMissingOrExistingEntries) {
  Env env(4096, 256, 64);
  auto dir = env.NewDir();
  ASSERT_OK(Insert(env, *dir, "x", 5));
  EXPECT_EQ(Insert(env, *dir, "x", 6).err(), EEXIST);
  EXPECT_EQ(Remove(env, *dir, "y").err(), ENOENT);
  {
    auto h = env.Start(1);
    EXPECT_EQ(dir->Replace(*h, "y", 7, FileType::kRegular).err(), ENOENT);
    EXPECT_EQ(dir->Replace(*h, "x", 0, FileType::kRegular).err(), EINVAL);
    EXPECT_EQ(dir->Insert(*h, "z", 0, FileType::kRegular).err(), EINVAL);
    EXPECT_EQ(dir->Insert(*h, "z", 1, static_cast<FileType>(8)).err(), EINVAL);
    ASSERT_OK(h->Stop());
  }
  const std::string bad[] = {"", "a/b", "/", std::string("a\0b", 3), ".", ".."};
  for (const std::string& name : bad) {
    EXPECT_EQ(dir->Lookup(name).err(), EINVAL) << name;
    EXPECT_EQ(Insert(env, *dir, name, 9).err(), EINVAL) << name;
    EXPECT_EQ(Remove(env, *dir, name).err(), EINVAL) << name;
  }
  const std::string too_long(256, 'n');
  EXPECT_EQ(dir->Lookup(too_long).err(), ENAMETOOLONG);
  EXPECT_EQ(Insert(env, *dir, too_long, 9).err(), ENAMETOOLONG);
  EXPECT_EQ(Remove(env, *dir, too_long).err(), ENAMETOOLONG);
  ASSERT_OK(Insert(env, *dir, std::string(255, 'n'), 10));
  ASSERT_OK(Insert(env, *dir, "...", 11));  // only "." and ".." are reserved
  Model model{{"x", {5, FileType::kRegular}},
              {std::string(255, 'n'), {10, FileType::kRegular}},
              {"...", {11, FileType::kRegular}}};
  ExpectListing(*dir, model);
  ASSERT_OK(dir->Check());
}

TEST(DirectoryTest, NamesWithEveryLegalByte) {
  Env env(1024, 512, 2048);
  auto dir = env.NewDir();
  Model model;
  uint64_t ino = 1000;
  auto add = [&](const std::string& name) {
    ASSERT_OK(Insert(env, *dir, name, ino));
    model[name] = {ino++, FileType::kRegular};
  };
  for (int c = 1; c <= 255; ++c) {
    if (c == '/' || c == '.') continue;
    add(std::string(1, static_cast<char>(c)));
  }
  std::string all;  // every legal byte once: 254 bytes
  for (int c = 1; c <= 255; ++c) {
    if (c != '/') all.push_back(static_cast<char>(c));
  }
  add(all);
  add(all + "x");  // 255 bytes
  add(std::string(255, '\xff'));
  add("with space");
  add(" leading and trailing ");
  add("new\nline");
  add("tab\there");
  add("\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");  // UTF-8
  add("\x80\xfe invalid utf8");
  add(".hidden");
  add("..x");
  add("pre");
  add("prefix");  // a name sorts before the longer names it prefixes
  for (const auto& [name, target] : model) ExpectLookup(*dir, name, model);
  ExpectListing(*dir, model);
  ASSERT_OK(dir->Check());
}

// ---- Randomized model test ---------------------------------------------------------

std::string RandomName(std::mt19937_64& rng) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
  size_t len = 1 + rng() % 24;
  if (rng() % 50 == 0) len = 100 + rng() % 156;  // some long names
  std::string s;
  for (size_t i = 0; i < len; ++i) s.push_back(kChars[rng() % (sizeof(kChars) - 1)]);
  if (s == "." || s == "..") s += "z";
  return s;
}

// `ops` random inserts (62%), removals (35%) and removals of absent names,
// with a full listing, lookups and Check() every ops / 10 operations.
void RunRandomModel(uint32_t block_size, int ops, int min_depth, uint64_t seed) {
  Env env(block_size, block_size == 1024 ? 4096 : 1024, block_size == 1024 ? 40000 : 4000);
  auto dir = env.NewDir();
  std::mt19937_64 rng(seed);
  Model model;
  std::vector<std::string> live;  // model's names, for picking one at random
  const int check_every = ops / 10;
  uint64_t next_ino = 100;
  for (int op = 1; op <= ops; ++op) {
    const uint64_t dice = rng() % 100;
    if (dice < 62 || live.empty()) {
      const std::string name = RandomName(rng);
      const FileType type = static_cast<FileType>(rng() % 8);
      const Status s = Insert(env, *dir, name, next_ino, type);
      if (model.count(name)) {
        ASSERT_EQ(s.err(), EEXIST) << name;
      } else {
        ASSERT_OK(s);
        model[name] = {next_ino, type};
        live.push_back(name);
      }
      ++next_ino;
    } else if (dice < 97) {
      const size_t i = rng() % live.size();
      const std::string name = live[i];
      auto r = Remove(env, *dir, name);
      ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
      ASSERT_EQ(r->ino, model[name].first);
      model.erase(name);
      live[i] = live.back();
      live.pop_back();
    } else {
      const std::string name = RandomName(rng);
      if (!model.count(name)) {
        ASSERT_EQ(Remove(env, *dir, name).err(), ENOENT);
      }
    }
    if (op % check_every == 0) {
      ASSERT_OK(dir->Check());
      ExpectListing(*dir, model);
      for (int i = 0; i < 300; ++i) {
        ExpectLookup(*dir, live[rng() % live.size()], model);
        ExpectLookup(*dir, RandomName(rng), model);
      }
    }
    if (::testing::Test::HasFatalFailure()) return;
  }
  for (const std::string& name : live) ExpectLookup(*dir, name, model);
  ExpectListing(*dir, model);
  ASSERT_OK(dir->Check());
  if (kScaleDown == 1) {
    EXPECT_GE(Depth(*dir), min_depth);
  }
  // Remove everything: leaves stay, the directory is empty.
  for (const std::string& name : live) ASSERT_TRUE(Remove(env, *dir, name).ok());
  EXPECT_TRUE(*dir->IsEmpty());
  EXPECT_TRUE(ReadAll(*dir).empty());
  ASSERT_OK(dir->Check());
}

TEST(DirectoryTest, RandomOperationsMatchModel1K) {
  RunRandomModel(1024, 100000 / kScaleDown, 2, 20261124);
}

TEST(DirectoryTest, RandomOperationsMatchModel4K) {
  RunRandomModel(4096, 40000 / kScaleDown, 1, 4096);
}

// ---- Hash collisions -----------------------------------------------------------------

// `count` names of varied length, inserted and checked against a model under
// the given hash; returns the model.
Model FillWithHash(Env& env, Directory& dir, const std::function<uint64_t(const std::string&)>& hash,
                   int count, uint64_t seed) {
  dir.set_hash_for_test([hash](std::span<const uint8_t> name) {
    return hash(std::string(reinterpret_cast<const char*>(name.data()), name.size()));
  });
  std::mt19937_64 rng(seed);
  Model model;
  for (int i = 0; i < count; ++i) {
    std::string name = "c" + std::to_string(rng() % 1000000) + "_" + std::to_string(i);
    if (rng() % 8 == 0) name += std::string(60 + rng() % 150, 'L');
    EXPECT_TRUE(Insert(env, dir, name, 1000 + i).ok());
    model[name] = {1000 + i, FileType::kRegular};
  }
  return model;
}

void ExerciseCollisions(Env& env, Directory& dir, Model& model,
                        const std::function<uint64_t(const std::string&)>& hash, uint64_t seed) {
  ASSERT_OK(dir.Check());
  ExpectListing(dir, model, hash);
  for (const auto& [name, target] : model) {
    ExpectLookup(dir, name, model);
    ExpectLookup(dir, name + "?", model);  // absent, same hash: walks the whole run
  }
  for (const auto& [name, target] : model) {
    ASSERT_EQ(Insert(env, dir, name, 1).err(), EEXIST) << name;
  }
  // Remove every other name, then insert new ones into the run.
  std::mt19937_64 rng(seed);
  std::vector<std::string> names;
  for (const auto& [name, target] : model) names.push_back(name);
  for (size_t i = 0; i < names.size(); i += 2) {
    auto r = Remove(env, dir, names[i]);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    model.erase(names[i]);
  }
  ASSERT_OK(dir.Check());
  for (int i = 0; i < static_cast<int>(names.size()) / 2; ++i) {
    const std::string name = "n" + std::to_string(rng() % 100000) + "_" + std::to_string(i);
    ASSERT_OK(Insert(env, dir, name, 5000 + i));
    model[name] = {5000 + i, FileType::kRegular};
  }
  ASSERT_OK(dir.Check());
  ExpectListing(dir, model, hash);
  for (const auto& [name, target] : model) ExpectLookup(dir, name, model);
  for (const std::string& name : names) ExpectLookup(dir, name, model);
}

TEST(DirectoryTest, AllNamesCollideInOneLeafRun) {
  Env env(1024, 2048, 4000);
  auto dir = env.NewDir();
  auto hash = [](const std::string&) -> uint64_t { return 0x123456789ABCDEF0ULL; };
  Model model = FillWithHash(env, *dir, hash, 300, 1);
  EXPECT_EQ(Depth(*dir), 1);
  EXPECT_GT(env.storage.block_count(), 10u);  // many leaves, one hash: CONTINUED
  ExerciseCollisions(env, *dir, model, hash, 2);
}

TEST(DirectoryTest, CollisionRunSpansIndexNodes) {
  // Enough colliding names that the index nodes split inside the run too
  // (61 entries per 1 KiB index node), at hash 0 (the root's lower bound).
  Env env(1024, 2048, 8000);
  auto dir = env.NewDir();
  auto hash = [](const std::string&) -> uint64_t { return 0; };
  Model model = FillWithHash(env, *dir, hash, 2500 / std::max(1, kScaleDown / 3), 3);
  EXPECT_GE(Depth(*dir), kScaleDown == 1 ? 2 : 1);
  ExerciseCollisions(env, *dir, model, hash, 4);
}

TEST(DirectoryTest, FewHashValues) {
  Env env(1024, 2048, 8000);
  auto dir = env.NewDir();
  auto hash = [](const std::string& name) -> uint64_t {
    static constexpr uint64_t kValues[] = {7, 1ULL << 40, (1ULL << 40) + 1, UINT64_MAX};
    return kValues[RealHash(name) % 4];
  };
  Model model = FillWithHash(env, *dir, hash, 3000 / kScaleDown, 5);
  ExerciseCollisions(env, *dir, model, hash, 6);
  // Resuming at a cookie returns exactly the entries whose position is >= it
  // (names sharing a 62-bit hash prefix share a position: §8).
  const auto all = ReadAll(*dir);
  for (uint64_t cookie : {uint64_t{0}, uint64_t{3}, uint64_t{4}, Directory::Position(7) + 1,
                          Directory::Position(1ULL << 40), Directory::Position(1ULL << 40) + 1,
                          Directory::Position(UINT64_MAX), Directory::Position(UINT64_MAX) + 1}) {
    std::vector<std::string> expect;
    for (const Listed& l : all) {
      if (Directory::Position(l.entry.hash) >= cookie) expect.push_back(l.entry.name);
    }
    std::vector<std::string> got;
    for (const Listed& l : ReadAll(*dir, cookie)) got.push_back(l.entry.name);
    EXPECT_EQ(got, expect) << "cookie " << cookie;
  }
}

// ---- readdir cookies ---------------------------------------------------------------

TEST(DirectoryTest, ResumeAtEveryCookieGivesTheRest) {
  Env env(1024, 1024, 2000);
  auto dir = env.NewDir();
  for (int i = 0; i < 1000 / kScaleDown; ++i) {
    ASSERT_OK(Insert(env, *dir, "entry-" + std::to_string(i), 10 + i));
  }
  const auto all = ReadAll(*dir);
  ASSERT_EQ(all.size(), static_cast<size_t>(1000 / kScaleDown));
  for (uint64_t c : {0, 1, 2, 3}) EXPECT_EQ(ReadAll(*dir, c).size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    const auto rest = ReadAll(*dir, all[i].cookie);
    ASSERT_EQ(rest.size(), all.size() - i - 1) << "cookie " << all[i].cookie;
    for (size_t k = 0; k < rest.size(); ++k) {
      ASSERT_EQ(rest[k].entry.name, all[i + 1 + k].entry.name);
      ASSERT_EQ(rest[k].cookie, all[i + 1 + k].cookie);
    }
  }
  // Stopping early: fn returning false ends the walk after that entry.
  int seen = 0;
  ASSERT_OK(dir->ReadDir(0, [&](const DirEntry&, uint64_t) { return ++seen < 5; }));
  EXPECT_EQ(seen, 5);
  EXPECT_TRUE(ReadAll(*dir, UINT64_MAX).empty());
  EXPECT_TRUE(ReadAll(*dir, Directory::Position(UINT64_MAX) + 1).empty());
}

TEST(DirectoryTest, ReaddirStableWhileEntriesChange) {
  Env env(1024, 2048, 8000);
  auto dir = env.NewDir();
  std::set<std::string> stable;
  for (int i = 0; i < 2000 / kScaleDown; ++i) {
    const std::string name = "stable-" + std::to_string(i);
    ASSERT_OK(Insert(env, *dir, name, 10 + i));
    stable.insert(name);
  }
  std::vector<std::string> churn;
  std::mt19937_64 rng(99);
  std::map<std::string, int> seen;
  uint64_t cookie = 0;
  int serial = 0;
  while (true) {
    int got = 0;
    ASSERT_OK(dir->ReadDir(cookie, [&](const DirEntry& e, uint64_t next) {
      ++seen[e.name];
      cookie = next;
      return ++got < 37;
    }));
    if (got == 0) break;
    // Between calls: new names (splitting leaves) and removals of churn names.
    for (int i = 0; i < 60; ++i) {
      const std::string name = "churn-" + std::to_string(serial++);
      ASSERT_OK(Insert(env, *dir, name, 50000 + serial));
      churn.push_back(name);
    }
    for (int i = 0; i < 30 && !churn.empty(); ++i) {
      const size_t k = rng() % churn.size();
      ASSERT_TRUE(Remove(env, *dir, churn[k]).ok());
      churn[k] = churn.back();
      churn.pop_back();
    }
  }
  for (const std::string& name : stable) EXPECT_EQ(seen[name], 1) << name;
  for (const auto& [name, count] : seen) EXPECT_EQ(count, 1) << name;
  ASSERT_OK(dir->Check());
}

// ---- Persistence -------------------------------------------------------------------

Model FillRandom(Env& env, Directory& dir, int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Model model;
  for (int i = 0; i < count; ++i) {
    const std::string name = RandomName(rng);
    if (model.count(name)) continue;
    const FileType type = static_cast<FileType>(1 + rng() % 7);
    EXPECT_TRUE(Insert(env, dir, name, 100 + i, type).ok());
    model[name] = {100 + i, type};
  }
  return model;
}

TEST(DirectoryTest, SurvivesCheckpointAndReopen) {
  Env env(1024, 2048, 8000);
  auto dir = env.NewDir();
  Model model = FillRandom(env, *dir, 5000 / kScaleDown, 11);
  int removed = 0;
  for (auto it = model.begin(); it != model.end(); ++removed) {
    if (removed % 3 != 0) {
      ++it;
      continue;
    }
    ASSERT_TRUE(Remove(env, *dir, it->first).ok());
    it = model.erase(it);
  }
  dir.reset();
  ASSERT_OK(env.journal->Checkpoint());
  ASSERT_OK(env.journal->Close());
  env.journal.reset();
  env.Open();  // a fresh BufferCache: everything comes from the device
  auto again = env.Dir();
  ASSERT_OK(again->Check());
  ExpectListing(*again, model);
  for (const auto& [name, target] : model) ExpectLookup(*again, name, model);
  ASSERT_OK(Insert(env, *again, "after-reopen", 7));
  ASSERT_OK(again->Check());
}

TEST(DirectoryTest, ReplayRestoresCommittedEntries) {
  Env env(1024, 4096, 8000);
  auto dir = env.NewDir();
  Model model = FillRandom(env, *dir, 3000 / kScaleDown, 12);
  ASSERT_OK(env.journal->ForceCommit(env.journal->current_tid()));
  // More changes that never commit: a crash loses them.
  for (int i = 0; i < 100; ++i) ASSERT_OK(Insert(env, *dir, "lost-" + std::to_string(i), 9));
  // The crash: the device as it is now, home blocks never checkpointed.
  auto image = MemoryDevice::FromImage(env.dev->Snapshot(), 512);
  ASSERT_TRUE(image.ok());
  std::shared_ptr<MemoryDevice> crashed(std::move(image).value());
  auto j = env.OpenJournal(*crashed);
  ASSERT_NE(j, nullptr);
  EXPECT_GT(j->recovery_info().transactions_replayed, 0u);
  // The storage mapping recorded by the test is the committed one plus the
  // uncommitted tail, which the recovered tree never points at.
  Directory recovered(*j, env.storage, kIno, kSeed, HashSeed(), env.block_size);
  ASSERT_OK(recovered.Check());
  ExpectListing(recovered, model);
  for (const auto& [name, target] : model) ExpectLookup(recovered, name, model);
  ASSERT_OK(j->Close());
}

// ---- Corruption and failures ------------------------------------------------------------

TEST(DirectoryTest, DamagedBlockIsEuclean) {
  Env env(1024, 1024, 2000);
  auto dir = env.NewDir();
  Model model = FillRandom(env, *dir, 400, 13);
  ASSERT_GE(Depth(*dir), 1);
  dir.reset();
  ASSERT_OK(env.journal->Checkpoint());
  ASSERT_OK(env.journal->Close());
  env.journal.reset();
  // Flip a byte inside an entry of logical block 1 (a leaf).
  const uint64_t phys = env.storage.map[1];
  uint8_t byte = 0;
  env.dev->Peek(phys * env.block_size + 60, &byte, 1);
  byte ^= 0x40;
  env.dev->Poke(phys * env.block_size + 60, &byte, 1);
  env.Open();
  dir = env.Dir();
  const Status check = dir->Check();
  EXPECT_EQ(check.err(), EUCLEAN);
  EXPECT_NE(check.message().find("directory 42: block 1"), std::string::npos) << check.message();
  auto listed = dir->ReadDir(0, [](const DirEntry&, uint64_t) { return true; });
  EXPECT_EQ(listed.err(), EUCLEAN);
  // Some lookup must reach the damaged leaf.
  int euclean = 0;
  for (const auto& [name, target] : model) euclean += dir->Lookup(name).err() == EUCLEAN;
  EXPECT_GT(euclean, 0);
}

// Blocks are checked once per change (Buffer::verified_tag): a leaf that
// passed its checks and is then changed through a handle is checked again.
TEST(DirectoryTest, LeafChangedAfterItsCheckIsCheckedAgain) {
  Env env(1024, 1024, 2000);
  auto dir = env.NewDir();
  Model model = FillRandom(env, *dir, 400, 13);
  ASSERT_GE(Depth(*dir), 1);
  for (const auto& [name, target] : model) ASSERT_OK(dir->Lookup(name).status());  // all checked
  auto buffer = env.journal->buffers().Read(env.storage.map[1]);
  ASSERT_OK(buffer.status());
  {
    auto h = env.journal->Start(1, "test");
    ASSERT_OK(h.status());
    ASSERT_OK((*h)->GetWriteAccess(**buffer));
    (*buffer)->data()[60] ^= 0x40;  // an entry byte, checksum not resealed
    ASSERT_OK((*h)->DirtyMetadata(**buffer));
    ASSERT_OK((*h)->Stop());
  }
  int euclean = 0;
  for (const auto& [name, target] : model) euclean += dir->Lookup(name).err() == EUCLEAN;
  EXPECT_GT(euclean, 0);
}

TEST(DirectoryTest, FailedAppendLeavesTreeValid) {
  Env env(1024, 2048, 8000);
  auto dir = env.NewDir();
  std::mt19937_64 rng(21);
  Model model;
  int failures = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string name = RandomName(rng);
    if (model.count(name)) continue;
    if (i % 2 == 0) env.storage.fail_countdown = 1 + static_cast<int>(rng() % 3);
    const Status s = Insert(env, *dir, name, 100 + i);
    env.storage.fail_countdown = 0;
    if (s.ok()) {
      model[name] = {100 + i, FileType::kRegular};
    } else {
      ASSERT_EQ(s.err(), ENOSPC) << s.ToString();
      ++failures;
      ExpectLookup(*dir, name, model);
    }
    if (i % 200 == 0) ASSERT_OK(dir->Check());
  }
  EXPECT_GT(failures, 10);
  ASSERT_OK(dir->Check());
  ExpectListing(*dir, model);
  for (const auto& [name, target] : model) ExpectLookup(*dir, name, model);
}

TEST(DirectoryTest, TooFewCreditsLeavesTreeUnchanged) {
  Env env(1024, 1024, 2000);
  auto dir = env.NewDir();
  Model model = FillRandom(env, *dir, 300, 14);
  ASSERT_OK(env.journal->ForceCommit(env.journal->current_tid()));
  // Fill names into one leaf until an insert needs a split, with 1 credit.
  std::mt19937_64 rng(15);
  int refused = 0;
  for (int i = 0; i < 200 && refused < 5; ++i) {
    const std::string name = RandomName(rng) + "#";
    auto h = env.Start(1);
    const Status s = dir->Insert(*h, name, 77, FileType::kRegular);
    ASSERT_OK(h->Stop());
    if (s.ok()) {
      model[name] = {77, FileType::kRegular};
    } else {
      ASSERT_EQ(s.err(), ENOSPC) << s.ToString();
      ++refused;
    }
    ASSERT_OK(env.journal->ForceCommit(env.journal->current_tid()));
  }
  EXPECT_GT(refused, 0);
  ASSERT_OK(dir->Check());
  ExpectListing(*dir, model);
}

}  // namespace
}  // namespace foliofs::fs
