package io.jmesh.security.agent;

import java.io.IOException;
import java.io.StringWriter;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.spec.ECGenParameterSpec;

import javax.security.auth.x500.X500Principal;

import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.bouncycastle.util.io.pem.PemObject;

/**
 * Makes a workload key pair and its PKCS#10 certificate signing request, as Istio's agent does
 * ({@code pkiutil.GenCSR}): an empty subject and one URI SAN, the SPIFFE ID, in a critical
 * subjectAltName extension (RFC 5280 4.2.1.6 asks for critical when the subject is empty).
 *
 * <p>Thread-safe (stateless).
 */
public final class WorkloadCsr {

    private WorkloadCsr() {}

    /** Generates a fresh key pair of {@code type}. */
    public static KeyPair generateKeyPair(KeyType type) {
        try {
            KeyPairGenerator g;
            if (type == KeyType.RSA_2048) {
                g = KeyPairGenerator.getInstance("RSA");
                g.initialize(2048);
            } else {
                g = KeyPairGenerator.getInstance("EC");
                g.initialize(new ECGenParameterSpec("secp256r1"));
            }
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate a " + type + " key pair", e);
        }
    }

    /** Returns the PEM {@code CERTIFICATE REQUEST} for {@code keys}, naming {@code spiffeId} as its only SAN. */
    public static String csrPem(KeyPair keys, String spiffeId) {
        try {
            ExtensionsGenerator ext = new ExtensionsGenerator();
            ext.addExtension(Extension.subjectAlternativeName, true,
                             new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, spiffeId)));
            String alg = keys.getPrivate().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
            PKCS10CertificationRequest csr = new JcaPKCS10CertificationRequestBuilder(new X500Principal(""),
                                                                                     keys.getPublic())
                    .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate())
                    .build(new JcaContentSignerBuilder(alg).build(keys.getPrivate()));
            return pem(new PemObject("CERTIFICATE REQUEST", csr.getEncoded()));
        } catch (IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot build a CSR for " + spiffeId, e);
        }
    }

    /** The key as PEM PKCS#8 ({@code PRIVATE KEY}), the form Envoy and Netty both read. */
    public static String privateKeyPem(PrivateKey key) {
        return pem(new PemObject("PRIVATE KEY", key.getEncoded()));
    }

    private static String pem(PemObject o) {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return w.toString();
    }
}
