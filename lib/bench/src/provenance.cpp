#include "adbench/bench/provenance.hpp"

#include "adbench/core/sha256.hpp"

namespace adbench {

namespace {
std::string text_at(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string spec_value(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& x : v) {
      if (!out.empty()) out += '+';
      out += spec_value(x);  // appended, not "literal" + string&&: GCC 12 -Wstringop-overflow false positive
    }
    return out;
  }
  return v.dump();
}
}  // namespace

nlohmann::json Provenance::to_json() const {
  nlohmann::json j = {{"adbench_version", adbench_version},
                      {"git_commit", git_commit},
                      {"libtorch", libtorch},
                      {"cuda", cuda},
                      {"device", device},
                      {"device_name", device_name},
                      {"detector", detector},
                      {"spec", spec},
                      {"config_sha256", config_sha256},
                      {"config", config},
                      {"backbone", backbone},
                      {"weights", weights},
                      {"weights_sha256", weights_sha256},
                      {"seed", seed}};
  if (other_weights.is_object() && !other_weights.empty()) j["other_weights"] = other_weights;
  return j;
}

Provenance Provenance::from_json(const nlohmann::json& j) {
  Provenance p;
  if (!j.is_object()) return p;
  p.adbench_version = text_at(j, "adbench_version");
  p.git_commit = text_at(j, "git_commit");
  p.libtorch = text_at(j, "libtorch");
  p.cuda = text_at(j, "cuda");
  p.device = text_at(j, "device");
  p.device_name = text_at(j, "device_name");
  p.detector = text_at(j, "detector");
  p.spec = text_at(j, "spec");
  p.config_sha256 = text_at(j, "config_sha256");
  if (auto it = j.find("config"); it != j.end() && it->is_object()) p.config = *it;
  p.backbone = text_at(j, "backbone");
  p.weights = text_at(j, "weights");
  p.weights_sha256 = text_at(j, "weights_sha256");
  if (auto it = j.find("seed"); it != j.end() && it->is_number_unsigned()) p.seed = it->get<std::uint64_t>();
  if (auto it = j.find("other_weights"); it != j.end() && it->is_object()) p.other_weights = *it;
  return p;
}

bool is_weights_setting(const std::string& key) {
  return key.size() > 8 && key.compare(key.size() - 8, 8, "_weights") == 0;
}

bool names_weights_file(const std::string& key, const nlohmann::json& value) {
  return is_weights_setting(key) && value.is_string() && !value.get<std::string>().empty() && value != "none";
}

std::string detector_spec(const std::string& detector, const nlohmann::json& config) {
  std::string out;
  if (config.is_object())
    for (const auto& [k, v] : config.items())
      if (!is_weights_setting(k)) {
        if (!out.empty()) out += ',';
        out += k + "=";
        out += spec_value(v);
      }
  return detector + "(" + out + ")";
}

std::string config_sha256(const nlohmann::json& config, const std::string& weights_sha256,
                          const nlohmann::json& other_weights) {
  nlohmann::json hashed = config;
  if (hashed.is_object() && hashed.contains("backbone_weights") && !weights_sha256.empty())
    hashed["backbone_weights"] = "sha256:" + weights_sha256;
  if (hashed.is_object() && other_weights.is_object())
    for (const auto& [k, v] : other_weights.items())
      if (hashed.contains(k) && v.is_object() && v.contains("sha256") && v["sha256"].is_string())
        hashed[k] = "sha256:" + v["sha256"].get<std::string>();
  return sha256_bytes(hashed.dump());
}

}  // namespace adbench
