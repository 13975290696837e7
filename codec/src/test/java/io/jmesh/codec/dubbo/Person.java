package io.jmesh.codec.dubbo;

import java.io.Serializable;
import java.util.List;

/** A POJO argument: a Hessian2 typed object with a class definition. */
public class Person implements Serializable {
    private static final long serialVersionUID = 1L;
    public String name;
    public int age;
    public List<String> tags;

    public Person() {}

    public Person(String name, int age, List<String> tags) {
        this.name = name;
        this.age = age;
        this.tags = tags;
    }
}
