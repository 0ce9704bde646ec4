// Sharded SafeTensors models (model.safetensors.index.json) and model folders.
#include "lowbit/safetensors_index.hpp"

#include <gtest/gtest.h>

#include "io_test_util.hpp"
#include "lowbit/safetensors_writer.hpp"
#include "safetensors_bytes.hpp"

namespace lowbit::test {
namespace {

// A shard with U8 tensors of 4 bytes each, assembled by hand.
void write_shard(const std::filesystem::path& path, const std::vector<std::string>& names) {
    std::string header = "{";
    for (std::size_t i = 0; i < names.size(); ++i) {
        header += (i ? "," : "");
        header += "\"" + names[i] + "\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[" + std::to_string(4 * i) +
                  "," + std::to_string(4 * i + 4) + "]}";
    }
    header += "}";
    write_file(path, safetensors_bytes(header, pattern(4 * names.size(), static_cast<uint32_t>(names.size()))));
}

constexpr const char* kIndex = R"({
  "metadata": {"total_size": 16, "format": "pt"},
  "weight_map": {
    "model.layers.0.w": "model-00001-of-00002.safetensors",
    "model.layers.1.w": "model-00002-of-00002.safetensors",
    "model.embed": "model-00001-of-00002.safetensors",
    "lm_head": "model-00002-of-00002.safetensors"
  }
})";

void write_sharded(const TempDir& dir, const char* index = kIndex) {
    write_shard(dir / "model-00001-of-00002.safetensors", {"model.embed", "model.layers.0.w"});
    write_shard(dir / "model-00002-of-00002.safetensors", {"model.layers.1.w", "lm_head"});
    write_text(dir / "model.safetensors.index.json", index);
}

TEST(SafeTensorsIndex, ParsesWeightMapShardsAndMetadata) {
    const SafeTensorsIndex index = parse_safetensors_index(kIndex, "i.json");
    EXPECT_EQ(index.weight_map.size(), 4u);
    EXPECT_EQ(index.weight_map.at("lm_head"), "model-00002-of-00002.safetensors");
    EXPECT_EQ(index.shards,
              (std::vector<std::string>{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}));
    EXPECT_EQ(index.metadata.at("total_size"), "16");
    EXPECT_EQ(index.metadata.at("format"), "pt");
}

TEST(SafeTensorsIndex, OpensAShardedFolder) {
    TempDir dir;
    write_sharded(dir);
    for (const auto& path : {dir.path(), dir / "model.safetensors.index.json"}) {
        const SafeTensorsModel m = SafeTensorsModel::open(path);
        EXPECT_TRUE(m.sharded());
        EXPECT_EQ(m.source(), (dir / "model.safetensors.index.json").string());
        ASSERT_EQ(m.files().size(), 2u);
        ASSERT_EQ(m.tensors().size(), 4u);
        EXPECT_EQ(m.tensors()[0].tensor->name, "model.embed");  // shard 1 in data order, then shard 2
        EXPECT_EQ(m.tensors()[3].tensor->name, "lm_head");
        const auto& e = m.tensor("model.layers.1.w");
        EXPECT_EQ(e.file->source(), (dir / "model-00002-of-00002.safetensors").string());
        const auto d = e.file->tensor_data(*e.tensor);
        const auto shard_data = pattern(8, 2);  // the shard's first tensor: bytes 0..4
        EXPECT_EQ(std::vector<uint8_t>(d.begin(), d.end()),
                  std::vector<uint8_t>(shard_data.begin(), shard_data.begin() + 4));
        EXPECT_ERROR(m.tensor("nope"), "model.safetensors.index.json: tensor 'nope' not found");
    }
}

TEST(SafeTensorsIndex, WrittenIndexReadsBack) {
    TempDir dir;
    write_shard(dir / "a.safetensors", {"x"});
    write_shard(dir / "b.safetensors", {"y", "z"});
    write_safetensors_index(dir / "model.safetensors.index.json",
                            {{"x", "a.safetensors"}, {"y", "b.safetensors"}, {"z", "b.safetensors"}}, 12);
    const SafeTensorsModel m = SafeTensorsModel::open(dir.path());
    EXPECT_EQ(m.tensors().size(), 3u);
    EXPECT_EQ(m.index()->metadata.at("total_size"), "12");
    EXPECT_ERROR(write_safetensors_index(dir / "bad.json", {{"x", "../a.safetensors"}}, 0),
                 "bad.json: weight_map: tensor 'x': shard '../a.safetensors' is not a plain file name");
    EXPECT_FALSE(std::filesystem::exists(dir / "bad.json"));
}

TEST(SafeTensorsIndex, SingleFileFolders) {
    TempDir dir;
    EXPECT_ERROR(SafeTensorsModel::open(dir.path()), "no model.safetensors.index.json and no .safetensors file");
    write_shard(dir / "weights.safetensors", {"w"});
    EXPECT_FALSE(SafeTensorsModel::open(dir.path()).sharded());
    EXPECT_EQ(SafeTensorsModel::open(dir.path()).tensors().size(), 1u);
    write_shard(dir / "other.safetensors", {"v"});
    EXPECT_ERROR(SafeTensorsModel::open(dir.path()), "2 .safetensors files but no model.safetensors.index.json");
    write_shard(dir / "model.safetensors", {"m"});
    EXPECT_EQ(SafeTensorsModel::open(dir.path()).tensors()[0].tensor->name, "m");
    EXPECT_EQ(SafeTensorsModel::open(dir / "other.safetensors").tensors()[0].tensor->name, "v");
}

TEST(SafeTensorsIndexHostile, ShardNamesOutsideTheFolder) {
    for (const char* name :
         {"../model.safetensors", "/etc/passwd", "sub/model.safetensors", "..", ".", "", "a\\\\b.safetensors"}) {
        const std::string text = std::string(R"({"weight_map":{"w":")") + name + "\"}}";
        const std::string expected = std::string("i.json: weight_map: tensor 'w': shard '");
        EXPECT_ERROR(parse_safetensors_index(text, "i.json"), expected,
                     "is not a plain file name inside the index's folder");
    }
}

TEST(SafeTensorsIndexHostile, MalformedIndexes) {
    EXPECT_ERROR(parse_safetensors_index("{", "i.json"), "i.json: index: invalid JSON at byte");
    EXPECT_ERROR(parse_safetensors_index("[]", "i.json"), "i.json: index: expected a JSON object, found array");
    EXPECT_ERROR(parse_safetensors_index("{}", "i.json"), "i.json: weight_map: missing");
    EXPECT_ERROR(parse_safetensors_index(R"({"weight_map":[]})", "i.json"),
                 "i.json: weight_map: expected an object, found array");
    EXPECT_ERROR(parse_safetensors_index(R"({"weight_map":{}})", "i.json"), "i.json: weight_map: lists no tensors");
    EXPECT_ERROR(parse_safetensors_index(R"({"weight_map":{"w":3}})", "i.json"),
                 "i.json: weight_map: tensor 'w': expected a shard file name, found non-negative integer");
    EXPECT_ERROR(parse_safetensors_index(R"({"weight_map":{"":"a"}})", "i.json"),
                 "i.json: weight_map: empty tensor name");
    EXPECT_ERROR(parse_safetensors_index(R"({"metadata":5,"weight_map":{"w":"a"}})", "i.json"),
                 "i.json: metadata: expected an object, found non-negative integer");
    EXPECT_ERROR(parse_safetensors_index(R"({"weight_map":{"w":"a","w":"b"}})", "i.json"),
                 "i.json: index: duplicate key 'w'");
}

TEST(SafeTensorsIndexHostile, IndexAndShardsDisagree) {
    {
        TempDir dir;
        write_sharded(dir, R"({"weight_map":{"model.embed":"model-00001-of-00002.safetensors",
            "model.layers.0.w":"model-00001-of-00002.safetensors","ghost":"model-00001-of-00002.safetensors"}})");
        EXPECT_ERROR(SafeTensorsModel::open(dir.path()),
                     "model.safetensors.index.json: weight_map: tensor 'ghost' is not in shard "
                     "'model-00001-of-00002.safetensors'");
    }
    {
        TempDir dir;
        write_sharded(dir, R"({"weight_map":{"model.embed":"model-00001-of-00002.safetensors"}})");
        EXPECT_ERROR(SafeTensorsModel::open(dir.path()),
                     "model-00001-of-00002.safetensors: tensor 'model.layers.0.w' is not listed in");
    }
    {
        TempDir dir;
        write_sharded(dir, R"({"weight_map":{"model.embed":"model-00002-of-00002.safetensors",
            "model.layers.0.w":"model-00001-of-00002.safetensors"}})");
        EXPECT_ERROR(SafeTensorsModel::open(dir.path()),
                     "model-00001-of-00002.safetensors: tensor 'model.embed' is listed for shard "
                     "'model-00002-of-00002.safetensors'");
    }
    {
        TempDir dir;
        write_text(dir / "model.safetensors.index.json", R"({"weight_map":{"w":"missing.safetensors"}})");
        EXPECT_ERROR(SafeTensorsModel::open(dir.path()), "missing.safetensors: cannot open: No such file or directory");
    }
    {
        TempDir dir;
        write_text(dir / "model.safetensors.index.json", R"({"weight_map":{"w":"bad.safetensors"}})");
        write_file(dir / "bad.safetensors", {1, 2, 3});
        EXPECT_ERROR(SafeTensorsModel::open(dir.path()), "bad.safetensors: header length: truncated");
    }
}

}  // namespace
}  // namespace lowbit::test
