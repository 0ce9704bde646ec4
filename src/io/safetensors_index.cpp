// Sharded SafeTensors: the index file, and a model made of one file or of all its shards.
#include "lowbit/safetensors_index.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "atomic_output.hpp"
#include "json_file.hpp"
#include "json_strict.hpp"
#include "lowbit/error.hpp"

namespace lowbit {
namespace {

namespace fs = std::filesystem;

// A single *.safetensors file in `dir`, or an error listing what was found.
fs::path single_safetensors_in(const fs::path& dir) {
    std::vector<fs::path> found;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().extension() == ".safetensors") found.push_back(it->path());
    }
    if (ec) {
        fail_as(ErrorCode::io, dir.string(), ": cannot list the folder: ", ec.message());
    }
    if (found.size() == 1) {
        return found.front();
    }
    if (found.empty()) {
        fail_as(ErrorCode::bad_file, dir.string(), ": no ", kSafeTensorsIndexName, " and no .safetensors file in this folder");
    }
    fail_as(ErrorCode::bad_file, dir.string(), ": ", found.size(), " .safetensors files but no ", kSafeTensorsIndexName,
         " saying how they form one model");
}

}  // namespace

bool is_plain_file_name(std::string_view name) {
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
           name.find('\\') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

SafeTensorsIndex parse_safetensors_index(std::string_view json_text, const std::string& source) {
    using nlohmann::json;
    const json j = io::parse_json_strict(json_text, source, "index");
    if (!j.is_object()) {
        fail_as(ErrorCode::bad_file, source, ": index: expected a JSON object, found ", io::json_kind(j));
    }
    SafeTensorsIndex index;
    index.source = source;
    if (const auto meta = j.find("metadata"); meta != j.end() && !meta->is_null()) {
        if (!meta->is_object()) {
            fail_as(ErrorCode::bad_file, source, ": metadata: expected an object, found ", io::json_kind(*meta));
        }
        for (const auto& [key, v] : meta->items()) {
            index.metadata.emplace(key, v.is_string() ? v.get<std::string>() : v.dump());
        }
    }
    const auto map = j.find("weight_map");
    if (map == j.end()) {
        fail_as(ErrorCode::bad_file, source, ": weight_map: missing");
    }
    if (!map->is_object()) {
        fail_as(ErrorCode::bad_file, source, ": weight_map: expected an object, found ", io::json_kind(*map));
    }
    if (map->empty()) {
        fail_as(ErrorCode::bad_file, source, ": weight_map: lists no tensors");
    }
    for (const auto& [tensor, shard] : map->items()) {
        if (tensor.empty()) {
            fail_as(ErrorCode::bad_file, source, ": weight_map: empty tensor name");
        }
        if (!shard.is_string()) {
            fail_as(ErrorCode::bad_file, source, ": weight_map: tensor '", tensor, "': expected a shard file name, found ",
                 io::json_kind(shard));
        }
        const auto& name = shard.get_ref<const std::string&>();
        if (!is_plain_file_name(name)) {
            fail_as(ErrorCode::bad_file, source, ": weight_map: tensor '", tensor, "': shard '", name,
                 "' is not a plain file name inside the index's folder");
        }
        index.weight_map.emplace(tensor, name);
    }
    std::set<std::string, std::less<>> shards;
    for (const auto& [tensor, shard] : index.weight_map) shards.insert(shard);
    index.shards.assign(shards.begin(), shards.end());
    return index;
}

SafeTensorsIndex read_safetensors_index(const std::filesystem::path& path) {
    return parse_safetensors_index(io::read_json_file(path), path.string());
}

void write_safetensors_index(const std::filesystem::path& path,
                             const std::map<std::string, std::string, std::less<>>& weight_map, uint64_t total_size) {
    nlohmann::ordered_json j;
    j["metadata"] = {{"total_size", total_size}};
    j["weight_map"] = nlohmann::ordered_json::object();
    for (const auto& [tensor, shard] : weight_map) {
        if (tensor.empty()) {
            fail_as(ErrorCode::bad_file, path.string(), ": weight_map: empty tensor name");
        }
        if (!is_plain_file_name(shard)) {
            fail_as(ErrorCode::bad_file, path.string(), ": weight_map: tensor '", tensor, "': shard '", shard, "' is not a plain file name");
        }
        j["weight_map"][tensor] = shard;
    }
    std::string text;
    try {
        text = j.dump(2) + "\n";
    } catch (const nlohmann::json::type_error&) {
        fail_as(ErrorCode::bad_file, path.string(), ": weight_map: a name is not valid UTF-8");
    }
    io::AtomicOutput out(path);
    out.write({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
    out.finish();
}

SafeTensorsModel SafeTensorsModel::open(const std::filesystem::path& path) {
    SafeTensorsModel m;
    fs::path file = path;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        if (fs::exists(path / kSafeTensorsIndexName, ec)) {
            file = path / kSafeTensorsIndexName;
        } else if (fs::exists(path / "model.safetensors", ec)) {
            file = path / "model.safetensors";
        } else {
            file = single_safetensors_in(path);
        }
    }
    m.source_ = file.string();
    if (file.extension() != ".json") {
        m.files_.push_back(SafeTensorsFile::open(file));
        m.add_file(m.files_.back());
        return m;
    }

    m.index_ = std::make_unique<SafeTensorsIndex>(read_safetensors_index(file));
    const SafeTensorsIndex& index = *m.index_;
    const fs::path folder = file.parent_path();
    m.files_.reserve(index.shards.size());  // entries point into files_: no reallocation later
    for (const std::string& shard : index.shards) {
        m.files_.push_back(SafeTensorsFile::open(folder / shard));
        const SafeTensorsFile& f = m.files_.back();
        for (const SafeTensor& t : f.tensors()) {
            const auto it = index.weight_map.find(t.name);
            if (it == index.weight_map.end()) {
                fail_as(ErrorCode::bad_file, f.source(), ": tensor '", t.name, "' is not listed in ", index.source);
            }
            if (it->second != shard) {
                fail_as(ErrorCode::bad_file, f.source(), ": tensor '", t.name, "' is listed for shard '", it->second, "' in ", index.source);
            }
        }
        m.add_file(f);
    }
    for (const auto& [tensor, shard] : index.weight_map) {
        if (m.by_name_.count(tensor) == 0) {
            fail_as(ErrorCode::bad_file, index.source, ": weight_map: tensor '", tensor, "' is not in shard '", shard, "'");
        }
    }
    return m;
}

void SafeTensorsModel::add_file(const SafeTensorsFile& file) {
    for (const SafeTensor& t : file.tensors()) {
        by_name_.emplace(t.name, tensors_.size());
        tensors_.push_back({&file, &t});
    }
}

const SafeTensorsModel::Entry* SafeTensorsModel::find_tensor(std::string_view name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

const SafeTensorsModel::Entry& SafeTensorsModel::tensor(std::string_view name) const {
    if (const Entry* e = find_tensor(name)) return *e;
    fail_as(ErrorCode::bad_file, source_, ": tensor '", name, "' not found");
}

}  // namespace lowbit
