package io.jmesh.discovery.analysis;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.ServiceEntry;

/**
 * Istio's {@code serviceentry.ProtocolAddressesAnalyzer}: a ServiceEntry without {@code addresses} has no virtual
 * IP to tell its TCP traffic apart, so each port whose protocol is TCP or unset gets IST0134. (Istio skips this
 * when its DNS proxy allocates addresses, {@code ISTIO_META_DNS_AUTO_ALLOCATE}; jmesh has no such allocation.)
 */
public final class ServiceEntryAddressesAnalyzer implements Analyzer {

    @Override
    public String name() {
        return "serviceentry.Analyzer";
    }

    @Override
    public void analyze(AnalysisContext context) {
        for (Config<?> c : context.configs(ConfigKind.SERVICE_ENTRY)) {
            ServiceEntry se = c.spec(ServiceEntry.class);
            if (!se.addresses().isEmpty()) {
                continue;
            }
            for (ServiceEntry.Port p : se.ports()) {
                if (p.protocol() == null || p.protocol().isEmpty() || p.protocol().equals("TCP")) {
                    context.report(MessageType.SERVICE_ENTRY_ADDRESSES_REQUIRED, c);
                }
            }
        }
    }
}
