#include "engine/container_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <set>

namespace berth::engine {
namespace {

class ContainerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cs-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto db = store::Database::open(dir_ + "/berth.db");
    ASSERT_TRUE(db.ok()) << db.error().message();
    db_.emplace(std::move(*db));
    cs_.emplace(*db_);
    ASSERT_TRUE(cs_->migrate().ok());
  }
  void TearDown() override {
    cs_.reset();
    db_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }
  ContainerRecord make(const std::string& name = "") {
    auto r = cs_->create({name, "sha256:" + std::string(64, 'a'), "busybox", Json{{"Image", "busybox"}}});
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : ContainerRecord{};
  }
  std::string dir_;
  std::optional<store::Database> db_;
  std::optional<ContainerStore> cs_;
};

TEST_F(ContainerStoreTest, CreateGetResolve) {
  auto c = make("web");
  EXPECT_EQ(c.id.size(), 64u);
  EXPECT_EQ(c.name, "web");
  EXPECT_EQ(c.state.status, "created");
  for (const std::string& n : {std::string("web"), std::string("/web"), c.id, c.id.substr(0, 12)}) {
    auto r = cs_->resolve(n);
    ASSERT_TRUE(r.ok()) << n;
    EXPECT_EQ(r->id, c.id);
    EXPECT_EQ((*r->config)["Image"], "busybox");
  }
  auto missing = cs_->resolve("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::NotFound);
  EXPECT_EQ(missing.error().message(), "No such container: nope");
}

TEST_F(ContainerStoreTest, NamesAreValidatedAndUnique) {
  make("dup");
  auto again = cs_->create({"dup", "sha256:x", "x", Json::object()});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::Conflict);
  EXPECT_NE(again.error().message().find("\"/dup\" is already in use"), std::string::npos);
  for (const char* bad : {"a", "-x", "x/y", "..", "a b", "\xc3\xa9t\xc3\xa9"}) {
    auto r = cs_->create({bad, "sha256:x", "x", Json::object()});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument) << bad;
  }
  EXPECT_TRUE(validate_container_name("/ok.name_1-2").ok());
}

TEST_F(ContainerStoreTest, GeneratedNamesAreUnique) {
  std::set<std::string> names;
  for (int i = 0; i < 300; i++) names.insert(make().name);
  EXPECT_EQ(names.size(), 300u);
}

TEST_F(ContainerStoreTest, StateRenameRemove) {
  auto c = make("one");
  ContainerState s;
  s.status = "exited";
  s.exit_code = 137;
  s.oom_killed = true;
  ASSERT_TRUE(cs_->set_state(c.id, s).ok());
  auto r = cs_->get(c.id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state.status, "exited");
  EXPECT_EQ(r->state.exit_code, 137);
  EXPECT_TRUE(r->state.oom_killed);
  make("two");
  auto clash = cs_->rename(c.id, "two");
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code(), ErrorCode::Conflict);
  ASSERT_TRUE(cs_->rename(c.id, "three").ok());
  EXPECT_EQ(cs_->resolve("three")->id, c.id);
  ASSERT_TRUE(cs_->remove(c.id).ok());
  EXPECT_EQ(cs_->remove(c.id).error().code(), ErrorCode::NotFound);
  EXPECT_EQ(cs_->list()->size(), 1u);
}

TEST_F(ContainerStoreTest, RecordsInMemoryMatchTheTable) {
  auto a = make("alpha");
  auto b = make("beta");
  ContainerState s;
  s.status = "exited";
  s.exit_code = 3;
  ASSERT_TRUE(cs_->set_state(a.id, s).ok());
  ASSERT_TRUE(cs_->rename(b.id, "gamma").ok());
  auto c = make("delta");
  ASSERT_TRUE(cs_->remove(c.id).ok());
  // A second store over the same database loads what the first wrote.
  ContainerStore fresh(*db_);
  for (ContainerStore* st : {&*cs_, &fresh}) {
    auto all = st->list();
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 2u);
    // Newest first.
    EXPECT_EQ((*all)[0]->id, b.id);
    EXPECT_EQ((*all)[0]->name, "gamma");
    EXPECT_EQ((*all)[1]->state.status, "exited");
    EXPECT_EQ((*all)[1]->state.exit_code, 3);
    EXPECT_EQ((*(*all)[1]->config)["Image"], "busybox");
    EXPECT_EQ(st->resolve("gamma")->id, b.id);
    EXPECT_FALSE(st->resolve("beta").ok());
    EXPECT_FALSE(st->get(c.id).ok());
    EXPECT_EQ(st->get(a.id)->state.exit_code, 3);
  }
  // Failed writes change nothing in memory either.
  EXPECT_EQ(cs_->rename(a.id, "gamma").error().code(), ErrorCode::Conflict);
  EXPECT_EQ(cs_->resolve("alpha")->id, a.id);
  EXPECT_EQ(cs_->set_state(c.id, s).error().code(), ErrorCode::NotFound);
}

// A list handed out is a snapshot: later changes make new records, and the
// next list has them (and a new container, in its place: newest first).
TEST_F(ContainerStoreTest, ListsAreSnapshots) {
  auto a = make("alpha");
  auto before = cs_->list();
  ASSERT_TRUE(before.ok());
  ContainerState s;
  s.status = "running";
  ASSERT_TRUE(cs_->set_state(a.id, s).ok());
  ASSERT_TRUE(cs_->rename(a.id, "omega").ok());
  EXPECT_EQ((*before)[0]->state.status, "created");
  EXPECT_EQ((*before)[0]->name, "alpha");
  auto b = make("beta");
  auto after = cs_->list();
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0]->id, b.id);
  EXPECT_EQ((*after)[1]->state.status, "running");
  EXPECT_EQ((*after)[1]->name, "omega");
  ASSERT_TRUE(cs_->remove(b.id).ok());
  EXPECT_EQ(cs_->list()->size(), 1u);
  EXPECT_EQ(after->size(), 2u);
}

TEST_F(ContainerStoreTest, AmbiguousPrefix) {
  // With enough containers two share a first hex digit.
  std::map<char, int> first;
  for (int i = 0; i < 40; i++) first[make().id[0]]++;
  for (const auto& [c, n] : first) {
    if (n < 2) continue;
    auto r = cs_->resolve(std::string(1, c));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("multiple containers"), std::string::npos);
    return;
  }
}

TEST_F(ContainerStoreTest, SurvivesReopen) {
  auto c = make("persist");
  cs_.reset();
  db_.reset();
  auto db = store::Database::open(dir_ + "/berth.db");
  ASSERT_TRUE(db.ok());
  db_.emplace(std::move(*db));
  cs_.emplace(*db_);
  ASSERT_TRUE(cs_->migrate().ok());
  EXPECT_EQ(cs_->resolve("persist")->id, c.id);
}

}  // namespace
}  // namespace berth::engine
