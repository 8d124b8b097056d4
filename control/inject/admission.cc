#include "control/inject/admission.h"

#include "absl/strings/escaping.h"
#include "common/strings.h"

namespace weft::control::inject {
namespace {

using nlohmann::json;

json respond(const std::string& uid, const std::string& message) {
  json response = {{"uid", uid}, {"allowed", true}};
  if (!message.empty()) response["warnings"] = json::array({message});
  return {{"apiVersion", "admission.k8s.io/v1"},
          {"kind", "AdmissionReview"},
          {"response", std::move(response)}};
}

const json* child(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

}  // namespace

json podPatch(const json& before, const json& after) {
  json ops = json::array();
  const std::pair<const char*, const char*> parts[] = {{"metadata", "annotations"},
                                                       {"spec", "initContainers"},
                                                       {"spec", "containers"},
                                                       {"spec", "volumes"}};
  for (const auto& [parent, key] : parts) {
    const json* b = child(before, parent);
    const json* a = child(after, parent);
    const json* was = b ? child(*b, key) : nullptr;
    const json* now = a ? child(*a, key) : nullptr;
    if (now == nullptr || (was != nullptr && *was == *now)) continue;
    ops.push_back({{"op", was == nullptr ? "add" : "replace"},
                   {"path", weft::strCat("/", parent, "/", key)},
                   {"value", *now}});
  }
  return ops;
}

absl::StatusOr<json> review(const json& doc, Policy policy, const InjectSettings& settings) {
  if (!doc.is_object() || doc.value("apiVersion", "") != "admission.k8s.io/v1" ||
      doc.value("kind", "") != "AdmissionReview") {
    return absl::InvalidArgumentError(
        "not an AdmissionReview (want apiVersion admission.k8s.io/v1, kind AdmissionReview)");
  }
  const json* request = child(doc, "request");
  if (request == nullptr || !request->is_object() || !request->contains("uid") ||
      !(*request)["uid"].is_string()) {
    return absl::InvalidArgumentError("request.uid: missing or not a string");
  }
  const std::string uid = (*request)["uid"];
  const json* kind = child(*request, "kind");
  const json* object = child(*request, "object");
  if (kind == nullptr || !kind->is_object() || kind->value("kind", "") != "Pod" ||
      kind->value("group", "x") != "" || object == nullptr || !object->is_object()) {
    return respond(uid, "");  // not a pod: nothing to do
  }
  if (request->value("operation", "CREATE") != "CREATE") return respond(uid, "");
  const json annotations =
      object->value("metadata", json::object()).value("annotations", json::object());
  const std::string asked = annotations.value(kInjectAnnotation, "");
  if (policy == Policy::kAnnotatedOnly && asked != "enabled") return respond(uid, "");
  json pod = *object;
  const InjectResult result = injectPod(pod["metadata"], pod["spec"], settings);
  if (!result.injected) {
    // Asked for, but not possible: say why where the pod's creator sees it.
    const bool asked_for = policy == Policy::kNamespaceEnabled || asked == "enabled";
    return respond(uid, asked_for && result.reason != "annotated weft.dev/inject: disabled"
                            ? weft::strCat("weft: not injected: ", result.reason)
                            : "");
  }
  json out = respond(uid, "");
  const std::string patch = podPatch(*object, pod).dump();
  out["response"]["patchType"] = "JSONPatch";
  out["response"]["patch"] = absl::Base64Escape(patch);
  return out;
}

}  // namespace weft::control::inject
