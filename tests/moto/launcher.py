#!/usr/bin/env python3
"""Starts moto's server (moto 5.2.6) with test-side patches for what moto cannot model.

Usage: launcher.py [moto_server arguments, e.g. -H 127.0.0.1 -p PORT]

EKS: moto invents every cluster's endpoint (a name that resolves nowhere) and its
certificateAuthority.data (a random string, not a certificate), so DescribeCluster
can never lead to an API server. When the environment variable MOTO_EKS_CLUSTERS
names a JSON file {"<cluster name>": {"endpoint": "https://...", "ca_data":
"<base64 of the CA's PEM>"}}, a cluster created with one of those names reports
them instead (the file is read at CreateCluster time, so a test can write it after
moto started). Everything else is moto as released.

ECS/EC2 (for service discovery; each patch only adds to what moto answers):

- ENI private DNS name. AWS gives every ENI a PrivateDnsName (ip-10-0-0-5.ec2.internal
  in us-east-1, ip-10-0-0-5.<region>.compute.internal elsewhere). moto sets the
  attribute only when the VPC has DNS hostnames enabled, so RunTask in awsvpc mode
  (Fargate) crashes reading it. The patch derives it from the private IP when moto
  did not set one (moto's own value is kept).
- awsvpc task placement. AWS places a task's ENI in one of the awsvpcConfiguration
  subnets (spread over their AZs) and takes its private IP from that subnet's CIDR
  (never the first four addresses or the last one, never one in use). moto always
  uses the first subnet and picks any 10.x.y.z. The patch rotates over the subnets
  (round robin) and picks a free random address of the subnet.
- DescribeTasks status. AWS keeps a running task's lastStatus RUNNING for as long
  as its desiredStatus is RUNNING. moto advances the task's state on every
  DescribeTasks (RUNNING -> DEACTIVATING -> ... -> STOPPED). The patch advances only
  tasks whose desiredStatus is no longer RUNNING (moto's StopTask already marks
  them STOPPED). It also looks tasks up by id in the requested cluster only, in
  request order (moto searches every cluster by substring, which costs seconds
  for a 2,000-task benchmark).
- ListTasks filters and pages. AWS filters on desiredStatus (default RUNNING), on
  serviceName (tasks a service started, i.e. group "service:<name>"), and returns
  at most maxResults (1..100, default 100) ARNs with a nextToken. moto returns
  every task of the cluster, stopped ones included, ignores serviceName and never
  pages. The patch adds the three. ListServices likewise pages (maxResults 1..100,
  default 10, as AWS does).
- Task containers. AWS reports every container of the task definition (name,
  image, lastStatus RUNNING, healthStatus UNKNOWN without a healthCheck), in
  bridge/host mode per container networkBindings [{bindIP, containerPort,
  hostPort, protocol}] from its portMappings (host mode: hostPort = containerPort;
  bridge mode with hostPort 0 or absent: a dynamic port), in awsvpc mode per
  container networkInterfaces [{attachmentId, privateIpv4Address}], and on the
  task availabilityZone and healthStatus; a container's taskArn is its task's ARN,
  its containerArn arn:...:container/<cluster>/<task id>/<id>, a running one has
  no exitCode, a stopped task's containers are STOPPED. moto reports only the
  first container, with lastStatus PENDING, exitCode 0, the task definition's ARN
  as taskArn, no bindings, and no availabilityZone/healthStatus.
  The patch rebuilds the containers; dynamic host ports are deterministic: the
  n-th dynamic binding on a container instance (from 0) gets 32768 + n.
  availabilityZone comes from the subnet (awsvpc) or the container instance.
- Dynamic host ports. AWS reserves no host port for a mapping with hostPort 0 (or
  none). moto reserves port "0" on the container instance, so a second such task
  cannot be placed on it. The patch leaves dynamic ports out of the reservation.

Not modelled: services never start tasks (run tasks with group="service:<name>" and
startedBy); RunTask on EC2 fills one container instance before the next (no spread
placement); DescribeTasks accepts more than 100 tasks.
"""
import inspect
import ipaddress
import json
import os
import random
import sys
import threading

from moto.core.responses import ActionResult
from moto.ec2.models import elastic_network_interfaces as eni_models
from moto.ec2.models import ec2_backends
from moto.ecs import models as ecs_models
from moto.ecs import responses as ecs_responses
from moto.ecs.exceptions import InvalidParameterException
from moto.server import main


def _patch_eks():
    from moto.eks import models as eks_models

    original_init = eks_models.Cluster.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        path = os.environ.get("MOTO_EKS_CLUSTERS")
        if not path or not os.path.exists(path):
            return
        with open(path, encoding="utf-8") as f:
            overrides = json.load(f)
        name = kwargs.get("name", args[0] if args else None)
        found = overrides.get(name)
        if found:
            self.endpoint = found["endpoint"]
            self.certificate_authority = {"data": found["ca_data"]}

    eks_models.Cluster.__init__ = init


def _patch_eni_dns_name():
    def get(self):
        name = self.__dict__.get("_private_dns_name")
        if name:
            return name
        ip = self.private_ip_address
        if not ip:
            return None
        region = self.ec2_backend.region_name
        formatted = ip.replace(".", "-")
        if region == "us-east-1":
            return f"ip-{formatted}.ec2.internal"
        return f"ip-{formatted}.{region}.compute.internal"

    def set_(self, value):
        self.__dict__["_private_dns_name"] = value

    eni_models.NetworkInterface.private_dns_name = property(get, set_)


# The subnet whose CIDR the next awsvpc task ENI's IP comes from (set around Task.__init__).
_awsvpc = threading.local()


def _free_ip(ec2_backend, subnet):
    net = ipaddress.IPv4Network(subnet.cidr_block)
    used = {e.private_ip_address for e in ec2_backend.enis.values()
            if getattr(e.subnet, "id", None) == subnet.id}
    first, last = int(net.network_address) + 4, int(net.broadcast_address) - 1
    if last - first + 1 <= len(used):
        raise InvalidParameterException(f"No free address left in subnet {subnet.id}.")
    while True:
        ip = str(ipaddress.IPv4Address(random.randint(first, last)))
        if ip not in used:
            return ip


def _patch_ecs_ip():
    original = ecs_models.random_private_ip

    def random_private_ip(cidr=None, ipv6=False):
        ctx = getattr(_awsvpc, "ctx", None)
        if cidr is None and not ipv6 and ctx is not None:
            return _free_ip(*ctx)
        return original(cidr, ipv6)

    ecs_models.random_private_ip = random_private_ip


def _patch_ecs_task_status():
    original_advance = ecs_models.Task.advance

    def advance(self):
        if self.desired_status != "RUNNING":
            original_advance(self)

    ecs_models.Task.advance = advance

    def describe_tasks(self, cluster_str, tasks):
        cluster = self._get_cluster(cluster_str)
        if not tasks:
            raise InvalidParameterException("Tasks cannot be empty.")
        by_id = {t.id: t for t in self.tasks.get(cluster.name, {}).values()}
        response = []
        for wanted in dict.fromkeys(x.split("/")[-1] for x in tasks):
            task = by_id.get(wanted)
            if task is not None:
                task.advance()
                response.append(task)
        return response

    ecs_models.EC2ContainerServiceBackend.describe_tasks = describe_tasks


def _container_instance(backend, cluster_name, arn):
    if not arn:
        return None
    return backend.container_instances.get(cluster_name, {}).get(arn.split("/")[-1])


def _patch_ecs_task_containers():
    original_init = ecs_models.Task.__init__
    signature = inspect.signature(original_init)

    def init(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        task_def, cluster, backend = a["task_definition"], a["cluster"], a["backend"]
        net_conf = a.get("networking_configuration") or {}
        subnet = None
        subnets = (net_conf.get("awsvpcConfiguration") or {}).get("subnets") or []
        ec2_backend = ec2_backends[backend.account_id][cluster.region_name]
        if task_def.network_mode == "awsvpc" and len(subnets) > 1:
            # moto puts every ENI in the first subnet; ECS spreads tasks over the subnets' AZs.
            n = getattr(backend, "_awsvpc_tasks_run", 0)
            backend._awsvpc_tasks_run = n + 1
            subnets = subnets[n % len(subnets):] + subnets[:n % len(subnets)]
            a["networking_configuration"] = net_conf = dict(
                net_conf, awsvpcConfiguration=dict(net_conf["awsvpcConfiguration"], subnets=subnets))
            args, kwargs = bound.args[1:], bound.kwargs
        if task_def.network_mode == "awsvpc" and subnets:
            try:
                subnet = ec2_backend.get_subnet(subnets[0])
            except Exception:  # moto raises its own error for an unknown subnet below
                subnet = None
        _awsvpc.ctx = (ec2_backend, subnet) if subnet is not None else None
        try:
            original_init(self, *args, **kwargs)
        finally:
            _awsvpc.ctx = None

        instance = _container_instance(backend, cluster.name, a.get("container_instance_arn"))
        eni = {}
        if self.attachments:
            details = {d["name"]: d["value"] for d in self.attachments[0]["details"]}
            eni = {"attachmentId": self.attachments[0]["id"],
                   "privateIpv4Address": details.get("privateIPv4Address")}
        if subnet is not None:
            self.availability_zone = subnet.availability_zone
        elif instance is not None:
            self.availability_zone = instance.attributes.get("ecs.availability-zone")

        containers = []
        for definition in task_def.container_definitions:
            c = ecs_models.Container(task_def)
            c.name = definition.get("name")
            c.image = definition.get("image")
            c.cpu = definition.get("cpu", 0)
            c.memory = definition.get("memory")
            c.memory_reservation = definition.get("memoryReservation")
            c.environment = definition.get("environment")
            c.command = definition.get("command")
            c.task_arn = self.task_arn  # moto puts the task definition's ARN here
            c.container_arn = (self.task_arn.replace(":task/", ":container/", 1)
                               + "/" + c.container_arn.rsplit("/", 1)[-1])
            c.last_status = "RUNNING"
            c.exitCode = None  # a running container has no exit code
            c.health_status = "HEALTHY" if definition.get("healthCheck") else "UNKNOWN"
            c.network_bindings = []
            c.network_interfaces = [dict(eni)] if eni else []
            if task_def.network_mode in ("bridge", "host"):
                for mapping in definition.get("portMappings") or []:
                    container_port = mapping.get("containerPort")
                    host_port = mapping.get("hostPort") or 0
                    if task_def.network_mode == "host":
                        host_port = host_port or container_port
                    elif not host_port:
                        holder = instance if instance is not None else backend
                        n = getattr(holder, "_dynamic_ports_used", 0)
                        holder._dynamic_ports_used = n + 1
                        host_port = 32768 + n
                    c.network_bindings.append({
                        "bindIP": "0.0.0.0", "containerPort": container_port,
                        "hostPort": host_port, "protocol": mapping.get("protocol", "tcp")})
            containers.append(c)
        self.containers = containers
        self.health_status = ("HEALTHY" if any(d.get("healthCheck") for d in task_def.container_definitions)
                              else "UNKNOWN")

    ecs_models.Task.__init__ = init

    original_stop = ecs_models.EC2ContainerServiceBackend.stop_task

    def stop_task(self, cluster_str, task_str, reason):
        task = original_stop(self, cluster_str, task_str, reason)
        for c in task.containers:
            c.last_status = "STOPPED"
        return task

    ecs_models.EC2ContainerServiceBackend.stop_task = stop_task

    original_requirements = ecs_models.EC2ContainerServiceBackend._calculate_task_resource_requirements

    def requirements(task_definition):
        result = original_requirements(task_definition)
        result["PORTS"] = [p for p in result["PORTS"] if p]
        return result

    ecs_models.EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(requirements)


def _page(response, action_result, key, default_max):
    """Applies maxResults/nextToken (an opaque offset) to the list `key` of an ActionResult."""
    items = action_result.result[key]
    max_results = response._get_int_param("maxResults") or default_max
    if max_results < 1 or max_results > 100:
        raise InvalidParameterException("maxResults must be between 1 and 100.")
    token = response._get_param("nextToken")
    start = 0
    if token:
        try:
            start = int(token.removeprefix("moto-offset-"))
        except ValueError:
            raise InvalidParameterException("Invalid nextToken.")
    page = {key: items[start:start + max_results]}
    if start + max_results < len(items):
        page["nextToken"] = f"moto-offset-{start + max_results}"
    return ActionResult(page)


def _patch_ecs_lists():
    backend_list_tasks = ecs_models.EC2ContainerServiceBackend.list_tasks

    def list_tasks(self, cluster_str=None, container_instance=None, family=None,
                   started_by=None, service_name=None, desiredStatus=None):
        tasks = backend_list_tasks(self, cluster_str, container_instance, family, started_by,
                                   None, desiredStatus or "RUNNING")
        if service_name:
            name = service_name.split("/")[-1]
            tasks = [t for t in tasks if t.group == f"service:{name}"]
        return tasks

    ecs_models.EC2ContainerServiceBackend.list_tasks = list_tasks

    response_cls = ecs_responses.EC2ContainerServiceResponse
    response_list_tasks = response_cls.list_tasks
    response_list_services = response_cls.list_services
    response_cls.list_tasks = lambda self: _page(self, response_list_tasks(self), "taskArns", 100)
    response_cls.list_services = lambda self: _page(self, response_list_services(self), "serviceArns", 10)


if __name__ == "__main__":
    _patch_eks()
    _patch_eni_dns_name()
    _patch_ecs_ip()
    _patch_ecs_task_status()
    _patch_ecs_task_containers()
    _patch_ecs_lists()
    main(sys.argv[1:])
