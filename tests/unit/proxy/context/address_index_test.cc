// Where an intercepted connection goes (proxy/context/address_index.h): a Service's virtual IP
// on its port, an endpoint's exact address, then an endpoint's IP on any port; virtual IPs and
// exact addresses first, the first Service in the config between equals.

#include "proxy/context/address_index.h"

#include <gtest/gtest.h>

#include "control/api/yaml_decoder.h"

namespace weft {
namespace {

constexpr char kMesh[] = R"(apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: reviews}
spec:
  port: 9080
  addresses: [10.96.0.10, "fd00::10"]
  endpoints:
    - {address: "10.1.0.5:15006", identity: "spiffe://td/ns/default/sa/reviews"}
---
apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: db}
spec:
  port: 5432
  endpoints:
    - {address: "10.1.0.5:5432", identity: "spiffe://td/ns/default/sa/reviews"}
    - {address: "10.96.0.10:7000", identity: "spiffe://td/ns/default/sa/db"}
)";

TEST(AddressIndexTest, FindsServicesByVirtualIpExactAddressThenIp) {
  auto mesh = api::decodeMeshConfig(kMesh, "mesh.yaml", 1);
  ASSERT_TRUE(mesh.ok()) << mesh.status();
  const api::Service& reviews = (*mesh)->services()[0];
  const api::Service& db = (*mesh)->services()[1];
  AddressIndex index(**mesh,
                     [&](const api::Service& s) { return EndpointListPtr(*mesh, &s.endpoints); });
  auto expect = [&](const char* key, const api::Service* service, bool endpoint) {
    const AddressMatch m = index.find(key);
    EXPECT_EQ(m.service, service) << key;
    EXPECT_EQ(m.endpoint, endpoint) << key;
  };
  expect("10.96.0.10:9080", &reviews, false);  // the virtual IP on the Service's port
  expect("[fd00::10]:9080", &reviews, false);
  expect("10.1.0.5:15006", &reviews, true);  // an endpoint's exact address
  expect("10.1.0.5:5432", &db, true);        // exact beats the IP of reviews' endpoint
  expect("10.1.0.5:8080", &reviews, true);   // the pod's IP, another port: the first Service
  expect("10.96.0.10:7000", &db, true);      // an endpoint that shares a virtual IP's address
  expect("10.96.0.10:80", &db, true);        // that IP is db's endpoint's, on any port
  expect("10.1.0.6:9080", nullptr, false);   // not in the mesh
  expect("[fd00::10]:80", nullptr, false);   // a virtual IP off its port
}

}  // namespace
}  // namespace weft
