package io.jmesh.discovery.config;

import java.util.List;
import java.util.Map;

/**
 * The spec of Istio's {@code Gateway}: the ports a gateway proxy (selected by labels) opens,
 * the hosts it exposes on each and their TLS.
 *
 * @see <a href="https://istio.io/latest/docs/reference/config/networking/gateway/">Gateway</a>
 */
public record Gateway(Map<String, String> selector, List<Server> servers) {

    public Gateway {
        selector = selector == null ? Map.of() : Map.copyOf(selector);
        servers = servers == null ? List.of() : List.copyOf(servers);
    }

    /** One port and its hosts. */
    public record Server(ServiceEntry.Port port, String bind, List<String> hosts, ServerTLSSettings tls, String name,
                         String defaultEndpoint) {
        public Server {
            hosts = hosts == null ? List.of() : List.copyOf(hosts);
        }
    }

    /** Server TLS: {@code mode} PASSTHROUGH, SIMPLE, MUTUAL, AUTO_PASSTHROUGH, ISTIO_MUTUAL, OPTIONAL_MUTUAL. */
    public record ServerTLSSettings(Boolean httpsRedirect, String mode, String serverCertificate, String privateKey,
                                    String caCertificates, String credentialName, List<String> credentialNames,
                                    List<String> subjectAltNames, String minProtocolVersion,
                                    String maxProtocolVersion, List<String> cipherSuites, String caCrl) {}
}
