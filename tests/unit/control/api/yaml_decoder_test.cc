#include "control/api/yaml_decoder.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace weft::api {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kBackend[] = R"(apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: backend, namespace: default}
spec:
  port: 8080
  endpoints:
    - address: 127.0.0.1:15106
      identity: spiffe://cluster.local/ns/default/sa/backend
      labels: {version: v1}
)";

// Decodes `yaml` as mesh.yaml and returns the error message ("" on success).
std::string errorOf(const std::string& yaml) {
  auto config = decodeMeshConfig(yaml, "mesh.yaml", 1);
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(weft::sv(config.status().message()));
}

// The example Service with one line replaced: line `n` (1-based) becomes `text`.
std::string withLine(int n, const std::string& text) {
  std::vector<std::string_view> lines = weft::split(kBackend, '\n');
  std::string out;
  for (int i = 0; i < static_cast<int>(lines.size()); ++i) {
    out += (i + 1 == n) ? std::string(text) : std::string(lines[i]);
    if (i + 1 < static_cast<int>(lines.size())) out += '\n';
  }
  return out;
}

TEST(YamlDecoderTest, DecodesExampleService) {
  auto config = decodeMeshConfig(kBackend, "mesh.yaml", 7);
  ASSERT_TRUE(config.ok()) << config.status();
  const MeshConfig& mesh = **config;
  EXPECT_EQ(mesh.source(), "mesh.yaml");
  EXPECT_EQ(mesh.version(), 7u);
  ASSERT_EQ(mesh.services().size(), 1u);
  const Service& svc = mesh.services()[0];
  EXPECT_EQ(svc.name, "backend");
  EXPECT_EQ(svc.ns, "default");
  EXPECT_EQ(svc.port, 8080);
  ASSERT_EQ(svc.endpoints.size(), 1u);
  const Endpoint& ep = svc.endpoints[0];
  EXPECT_EQ(ep.address, "127.0.0.1:15106");
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 15106);
  EXPECT_EQ(ep.identity, "spiffe://cluster.local/ns/default/sa/backend");
  EXPECT_EQ(ep.labels, (Labels{{"version", "v1"}}));
  EXPECT_EQ(mesh.findService("backend", "default"), &svc);
  EXPECT_EQ(mesh.findService("backend", "other"), nullptr);
}

TEST(YamlDecoderTest, MultipleDocumentsAndDefaults) {
  std::string yaml = std::string(kBackend) + R"(---
apiVersion: weft.dev/v1alpha1
kind: Service
metadata:
  name: web
spec:
  port: "80"
---
)";
  auto config = decodeMeshConfig(yaml, "mesh.yaml", 1);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ((*config)->services().size(), 2u);
  const Service* web = (*config)->findService("web", "default");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->port, 80);
  EXPECT_TRUE(web->endpoints.empty());
}

// spec.addresses: the virtual IPs intercepted connections reach the Service at, canonical.
TEST(YamlDecoderTest, ServiceAddressesAreIpLiteralsKeptCanonical) {
  auto config = decodeMeshConfig(
      withLine(5, "  port: 8080\n  addresses: [10.96.0.20, \"FD00::0A\"]"), "mesh.yaml", 1);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->services()[0].addresses,
            (std::vector<std::string>{"10.96.0.20", "fd00::a"}));
  EXPECT_EQ(errorOf(withLine(5, "  port: 8080\n  addresses: [reviews]")),
            "mesh.yaml:6: spec.addresses[0]: 'reviews' is not an IP address");
  EXPECT_THAT(errorOf(withLine(5, "  port: 8080\n  addresses: [10.0.0.1, 10.0.0.01]")),
              HasSubstr("spec.addresses[1]: '10.0.0.01' is not an IP address"));
  EXPECT_THAT(errorOf(withLine(5, "  port: 8080\n  addresses: [\"::1\", \"0::1\"]")),
              HasSubstr("spec.addresses[1]: duplicate address 0::1"));
}

// A subset selects the endpoints whose labels include all of its own, extra labels or not.
TEST(SubsetTest, SelectsEndpointsByAllItsLabels) {
  const Subset v1_b{"v1-b", {{"version", "v1"}, {"zone", "b"}}};
  EXPECT_TRUE(v1_b.selects({{"version", "v1"}, {"zone", "b"}}));
  EXPECT_TRUE(v1_b.selects({{"version", "v1"}, {"zone", "b"}, {"extra", "x"}}));
  EXPECT_FALSE(v1_b.selects({{"version", "v1"}, {"zone", "a"}}));
  EXPECT_FALSE(v1_b.selects({{"version", "v1"}}));
  EXPECT_FALSE(v1_b.selects({}));
}

TEST(YamlDecoderTest, EmptyInputIsEmptyConfig) {
  auto config = decodeMeshConfig("", "mesh.yaml", 1);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE((*config)->services().empty());
}

TEST(YamlDecoderTest, UnknownKind) {
  EXPECT_EQ(
      errorOf(withLine(2, "kind: Gateway")),
      "mesh.yaml:2: kind: unknown kind 'Gateway' (known: Service, HTTPRoute, DestinationPolicy, "
      "AuthorizationPolicy)");
}

TEST(YamlDecoderTest, UnsupportedApiVersion) {
  EXPECT_THAT(errorOf(withLine(1, "apiVersion: v1")),
              StartsWith("mesh.yaml:1: apiVersion: unsupported 'v1'"));
}

TEST(YamlDecoderTest, UnknownFieldsAtEveryLevel) {
  EXPECT_EQ(errorOf(withLine(10, "status: {}")), "mesh.yaml:10: (document).status: unknown field");
  EXPECT_EQ(errorOf(withLine(5, "  prot: 8080")), "mesh.yaml:5: spec.prot: unknown field");
  EXPECT_EQ(errorOf(withLine(3, "metadata: {name: backend, nmespace: default}")),
            "mesh.yaml:3: metadata.nmespace: unknown field");
  EXPECT_EQ(errorOf(withLine(9, "      weight: 3")),
            "mesh.yaml:9: spec.endpoints[0].weight: unknown field");
}

TEST(YamlDecoderTest, BadIdentity) {
  std::string err = errorOf(withLine(8, "      identity: web"));
  EXPECT_EQ(err,
            "mesh.yaml:8: spec.endpoints[0].identity: not a SPIFFE ID (want spiffe://...): 'web'");
  EXPECT_THAT(errorOf(withLine(8, "      identity: spiffe://Cluster.local/ns/default/sa/b")),
              StartsWith("mesh.yaml:8: spec.endpoints[0].identity: "));
}

TEST(YamlDecoderTest, BadAddress) {
  EXPECT_THAT(errorOf(withLine(7, "    - address: backend:15106")),
              StartsWith("mesh.yaml:7: spec.endpoints[0].address: "));
  EXPECT_THAT(errorOf(withLine(7, "    - address: 127.0.0.1")),
              StartsWith("mesh.yaml:7: spec.endpoints[0].address: "));
  EXPECT_THAT(errorOf(withLine(7, "    - address: 127.0.0.1:70000")), HasSubstr("invalid port"));
}

TEST(YamlDecoderTest, PortOutOfRange) {
  for (const char* port : {"0", "65536", "-1", "http", "80.5"}) {
    EXPECT_EQ(errorOf(withLine(5, weft::strCat("  port: ", port))),
              "mesh.yaml:5: spec.port: must be a port number 1-65535")
        << port;
  }
}

TEST(YamlDecoderTest, MissingRequiredField) {
  // A missing field is reported at the mapping that lacks it (here spec, starting on line 6).
  EXPECT_EQ(errorOf(withLine(5, "")), "mesh.yaml:6: spec.port: required field is missing");
  EXPECT_EQ(errorOf(withLine(8, "")),
            "mesh.yaml:7: spec.endpoints[0].identity: required field is missing");
  EXPECT_EQ(errorOf(withLine(3, "metadata: {namespace: default}")),
            "mesh.yaml:3: metadata.name: required field is missing");
}

TEST(YamlDecoderTest, BadNames) {
  EXPECT_EQ(errorOf(withLine(3, "metadata: {name: Backend}")),
            "mesh.yaml:3: metadata.name: must be a DNS label ([a-z0-9-], at most 63)");
  EXPECT_THAT(errorOf(withLine(3, "metadata: {name: backend, namespace: -x}")),
              StartsWith("mesh.yaml:3: metadata.namespace: "));
}

TEST(YamlDecoderTest, DuplicateServiceNamesLineOfSecond) {
  std::string yaml = std::string(kBackend) + "---\n" + kBackend;  // second starts on line 11
  EXPECT_EQ(errorOf(yaml), "mesh.yaml:13: metadata.name: duplicate Service default/backend");
  // Same name in another namespace is a different Service.
  std::string other =
      std::string(kBackend) + "---\n" + withLine(3, "metadata: {name: backend, namespace: other}");
  EXPECT_EQ(errorOf(other), "");
}

TEST(YamlDecoderTest, InvalidYaml) {
  std::string err = errorOf("apiVersion: weft.dev/v1alpha1\nkind: Service\nspec: [1, 2\n");
  EXPECT_THAT(err, StartsWith("mesh.yaml:"));
  EXPECT_THAT(err, HasSubstr("invalid YAML"));
  EXPECT_THAT(errorOf("a: b\n  c: d\n"), StartsWith("mesh.yaml:2: invalid YAML"));
}

TEST(YamlDecoderTest, DocumentMustBeMapping) {
  EXPECT_EQ(errorOf("- 1\n- 2\n"), "mesh.yaml:1: (document): must be a mapping");
}

// Structural errors are reported like field errors: source, 1-based line, field, reason.
TEST(YamlDecoderTest, MissingMetadataOrSpecNamesTheField) {
  std::string no_meta = withLine(3, "");
  EXPECT_THAT(errorOf(no_meta), StartsWith("mesh.yaml:1: metadata: "));
  std::string no_spec = "apiVersion: weft.dev/v1alpha1\nkind: Service\nmetadata: {name: a}\n";
  EXPECT_THAT(errorOf(no_spec), StartsWith("mesh.yaml:1: spec: "));
}

// The admin /config endpoint serves toJson().dump(): a config the decoder accepts must serialize.
// Strings that are not UTF-8 should be rejected with a located error (or escaped), not accepted.
TEST(YamlDecoderTest, AcceptedConfigSerializesToJson) {
  auto config = decodeMeshConfig(withLine(9, "      labels: {version: \"v\x88\"}"), "mesh.yaml", 1);
  if (!config.ok()) {
    EXPECT_THAT(std::string(weft::sv(config.status().message())), StartsWith("mesh.yaml:9: "));
    return;
  }
  EXPECT_NO_THROW((void)(*config)->toJson().dump(2));
}

// yaml-cpp 0.7's LoadAll loops forever on a lone ',' (jbeder/yaml-cpp#1040); the decoder splits
// documents itself, so such input is an error, on the right line, and returns.
TEST(YamlDecoderTest, MalformedStreamIsAnErrorNotAHang) {
  EXPECT_THAT(errorOf(","), StartsWith("mesh.yaml:1: invalid YAML"));
  std::string second = std::string(kBackend) + "---\n,\n";
  EXPECT_THAT(errorOf(second), StartsWith("mesh.yaml:11: invalid YAML"));
}

// Line numbers count from the start of the stream, not of each document.
TEST(YamlDecoderTest, ErrorLinesInLaterDocuments) {
  std::string two = std::string(kBackend) + "---\n" +
                    "apiVersion: weft.dev/v1alpha1\nkind: Route\nmetadata: {name: x}\nspec: {}\n";
  EXPECT_THAT(errorOf(two), StartsWith("mesh.yaml:12: kind: unknown kind 'Route'"));
}

TEST(YamlDecoderTest, LoadFileNamesPath) {
  auto missing = loadMeshConfigFile("/nonexistent/mesh.yaml", 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(weft::sv(missing.status().message())),
              HasSubstr("/nonexistent/mesh.yaml"));
}

// A config file with no resources, or a directory, is refused (decodeMeshConfig alone still
// accepts an empty stream: the refusal is the file loader's).
TEST(YamlDecoderTest, LoadFileWithoutResourcesIsRefused) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / weft::strCat("weft-empty-", ::getpid());
  std::filesystem::create_directories(dir);
  const struct {
    const char* name;
    const char* text;
  } cases[] = {{"empty", ""},
               {"comments", "# nothing here yet\n\n# still nothing\n"},
               {"bare-marker", "---\n"},
               {"markers-and-comments", "---\n# a\n---\n...\n"}};
  for (const auto& c : cases) {
    const std::string path = (dir / c.name).string();
    std::ofstream(path) << c.text;
    auto config = loadMeshConfigFile(path, 1);
    ASSERT_FALSE(config.ok()) << c.name << " was accepted";
    EXPECT_THAT(std::string(weft::sv(config.status().message())),
                HasSubstr(weft::strCat(path, ": no resources")))
        << c.name;
  }
  auto directory = loadMeshConfigFile(dir.string(), 1);
  ASSERT_FALSE(directory.ok()) << "a directory was accepted";
  EXPECT_THAT(std::string(weft::sv(directory.status().message())),
              HasSubstr(weft::strCat(dir.string(), ": is a directory")));
  // One resource is enough.
  const std::string one = (dir / "one").string();
  std::ofstream(one) << kBackend;
  EXPECT_TRUE(loadMeshConfigFile(one, 1).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace weft::api
