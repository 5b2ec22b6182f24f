#include "adbench/detectors/per_view.hpp"

#include <algorithm>
#include <limits>

#include "adbench/core/error.hpp"

namespace adbench {

namespace {

/// One view of a multi-view sample as a one-image sample for the image detector.
Sample view_sample(const Sample& s, const Unit& u) {
  Sample v = Sample::single(Modality::Image, u.path, u.truth);
  v.category = s.category;
  v.split = s.split;
  v.defect = s.defect;
  v.label = u.label;
  v.stem = s.stem + "_" + u.name;
  v.rel_path = s.rel_path + "_" + u.name;
  return v;
}

}  // namespace

PerViewDetector::PerViewDetector(std::function<std::unique_ptr<Detector>()> make_inner, bool per_view_banks)
    : make_inner_(std::move(make_inner)), per_view_banks_(per_view_banks) {
  shared_ = make_inner_();  // also validates the settings now, before any data is read
  if (!shared_ || shared_->modality() != Modality::Image)
    throw InternalError("PerViewDetector wraps image detectors only");
}

std::string PerViewDetector::name() const { return shared_->name(); }

nlohmann::json PerViewDetector::config() const {
  nlohmann::json c = shared_->config();
  c[kPerViewBanks] = per_view_banks_;
  return c;
}

nlohmann::json PerViewDetector::provenance() const { return shared_->provenance(); }

Detector& PerViewDetector::bank(const std::string& view) {
  if (!per_view_banks_) return *shared_;
  auto it = banks_.find(view);
  if (it == banks_.end()) {
    std::string trained;
    for (const auto& [k, d] : banks_) trained += (trained.empty() ? "" : ", ") + k;
    throw InputError("per_view_banks: no model for view '" + view +
                     "' (trained views: " + (trained.empty() ? "none" : trained) + ")");
  }
  return *it->second;
}

void PerViewDetector::fit(const std::vector<Sample>& train, const RunContext& ctx) {
  std::map<std::string, std::vector<Sample>> by_view;
  std::vector<Sample> all;
  for (const auto& s : train)
    for (const auto& u : s.units) {
      Sample v = view_sample(s, u);
      if (per_view_banks_)
        by_view[u.name].push_back(std::move(v));
      else
        all.push_back(std::move(v));
    }
  if (!per_view_banks_) {
    shared_->fit(all, ctx);
    return;
  }
  banks_.clear();
  if (by_view.empty()) shared_->fit({}, ctx);  // the image detector's own "no training images" error
  for (auto& [view, samples] : by_view) {
    auto d = make_inner_();
    try {
      d->fit(samples, ctx);
    } catch (const InputError& e) {
      throw InputError("view " + view + ": " + e.what());
    }
    banks_[view] = std::move(d);
  }
}

std::vector<Prediction> PerViewDetector::predict(const std::vector<Sample>& batch, const RunContext& ctx) {
  // Views grouped by model, predicted in one call per model, then put back in sample order.
  std::map<std::string, std::vector<Sample>> views;
  std::map<std::string, std::vector<std::pair<std::size_t, std::size_t>>> where;  // (sample, unit)
  for (std::size_t i = 0; i < batch.size(); ++i)
    for (std::size_t u = 0; u < batch[i].units.size(); ++u) {
      const std::string key = per_view_banks_ ? batch[i].units[u].name : std::string();
      views[key].push_back(view_sample(batch[i], batch[i].units[u]));
      where[key].emplace_back(i, u);
    }
  std::vector<Prediction> out(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) out[i].units.resize(batch[i].units.size());
  for (auto& [key, samples] : views) {
    std::vector<Prediction> p = bank(key).predict(samples, ctx);
    if (p.size() != samples.size())
      throw InternalError("image detector returned " + std::to_string(p.size()) + " predictions for " +
                          std::to_string(samples.size()) + " views");
    const auto& w = where[key];
    for (std::size_t k = 0; k < p.size(); ++k) {
      UnitOutput o;
      o.map = p[k].map();
      o.score = p[k].score;
      out[w[k].first].units[w[k].second] = std::move(o);
    }
  }
  for (auto& p : out) {
    p.score = -std::numeric_limits<double>::infinity();
    for (const auto& u : p.units) p.score = std::max(p.score, u.score);
  }
  return out;
}

std::map<std::string, at::Tensor> PerViewDetector::state() const {
  if (!per_view_banks_) return shared_->state();
  std::map<std::string, at::Tensor> out;
  for (const auto& [view, d] : banks_)
    for (auto& [k, t] : d->state()) out[view + "/" + k] = t;
  return out;
}

void PerViewDetector::load_state(const std::map<std::string, at::Tensor>& tensors) {
  if (!per_view_banks_) {
    shared_->load_state(tensors);
    return;
  }
  std::map<std::string, std::map<std::string, at::Tensor>> by_view;
  for (const auto& [k, t] : tensors) {
    const auto slash = k.find('/');
    if (slash == std::string::npos || slash == 0)
      throw InputError("tensor '" + k + "' has no '<view>/' prefix (per_view_banks is true)");
    by_view[k.substr(0, slash)][k.substr(slash + 1)] = t;
  }
  if (by_view.empty()) throw InputError("no tensors (per_view_banks is true: expected '<view>/...' ones)");
  banks_.clear();
  for (auto& [view, ts] : by_view) {
    auto d = make_inner_();
    try {
      d->load_state(ts);
    } catch (const InputError& e) {
      throw InputError("view " + view + ": " + e.what());
    }
    banks_[view] = std::move(d);
  }
}

std::unique_ptr<Detector> make_per_view_detector(const std::string& name, nlohmann::json overrides) {
  bool banks = false;
  if (overrides.is_object() && overrides.contains(kPerViewBanks)) {
    const nlohmann::json& b = overrides[kPerViewBanks];
    if (!b.is_boolean())
      throw InputError("detector " + name + ": setting '" + kPerViewBanks + "' expects a boolean, got " +
                       b.dump());
    banks = b.get<bool>();
    overrides.erase(kPerViewBanks);
  }
  return std::make_unique<PerViewDetector>(
      [name, overrides] { return detector_registry().create(name, overrides); }, banks);
}

}  // namespace adbench
